/** The sidebar's sections: pinned sessions first, then one per project (folder), then the rest (pure). */
import type { SessionSummary } from "../api/clients";

export interface SessionGroup {
  key: string;
  title: string;
  projectId: string | null;
  sessions: SessionSummary[];
}

export function groupSessions(
  sessions: SessionSummary[],
  projects: { projectId: string; name: string }[],
  withProjects: boolean,
): SessionGroup[] {
  const pinned = sessions.filter((s) => s.pinned);
  const rest = sessions.filter((s) => !s.pinned);
  const known = new Set(projects.map((p) => p.projectId));
  const groups: SessionGroup[] = [];
  if (pinned.length) groups.push({ key: "pinned", title: "Pinned", projectId: null, sessions: pinned });
  if (withProjects) {
    for (const p of projects) {
      groups.push({
        key: p.projectId,
        title: p.name,
        projectId: p.projectId,
        sessions: rest.filter((s) => s.projectId === p.projectId),
      });
    }
  }
  const loose = rest.filter((s) => !withProjects || !s.projectId || !known.has(s.projectId));
  groups.push({ key: "history", title: "History", projectId: null, sessions: loose });
  return groups;
}
