import { useQuery } from "@tanstack/react-query";
import { Link } from "react-router";
import { mcpServersQuery } from "../app/chatQueries";
import { useServices } from "../app/services";
import { Menu } from "../ui/Menu";

/** Which MCP connections the model may call tools of in this chat (only those the user may use, enabled). */
export function ToolPicker(props: { selected: string[]; disabled: boolean; onChange: (ids: string[]) => void }) {
  const { chat } = useServices();
  const query = useQuery(mcpServersQuery(chat));
  const usable = (query.data ?? []).filter((s) => s.canUse);
  const known = props.selected.filter((id) => usable.some((s) => s.id === id));
  const toggle = (id: string, on: boolean) =>
    props.onChange(on ? [...known, id] : known.filter((selected) => selected !== id));
  return (
    <Menu label={known.length ? `Tools (${known.length})` : "Tools"} ariaLabel="Choose tool connections">
      <div className="tool-picker" onClick={(e) => e.stopPropagation()}>
        {!usable.length ? <p className="muted small-text">No tool connections yet.</p> : null}
        {usable.map((server) => (
          <label key={server.id} className="check">
            <input
              type="checkbox"
              disabled={props.disabled}
              checked={known.includes(server.id)}
              onChange={(e) => toggle(server.id, e.target.checked)}
            />
            {server.name}
            {server.approval === "ask" ? <span className="muted small-text"> (asks first)</span> : null}
          </label>
        ))}
        <Link to="/mcp" className="small-text">
          Manage connections
        </Link>
      </div>
    </Menu>
  );
}
