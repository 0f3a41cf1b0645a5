import type { Repository } from "../api/clients";

export function RepositoryPicker(props: {
  repositories: Repository[];
  value: string;
  onChange: (repositoryId: string) => void;
}) {
  return (
    <label>
      Repository
      <select aria-label="Repository" value={props.value} onChange={(e) => props.onChange(e.target.value)}>
        {!props.repositories.length ? <option value="">No repositories</option> : null}
        {props.repositories.map((r) => (
          <option key={r.repositoryId} value={r.repositoryId}>
            {r.repositoryId} ({r.type})
          </option>
        ))}
      </select>
    </label>
  );
}
