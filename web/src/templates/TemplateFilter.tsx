/** Whose templates (mine, or shared with me) and a search over their titles and text. */
export function TemplateFilter(props: {
  shared: boolean;
  onShared: (shared: boolean) => void;
  query: string;
  onQuery: (query: string) => void;
}) {
  return (
    <div className="row">
      <div role="tablist" aria-label="Whose templates" className="tabs">
        <button type="button" role="tab" aria-selected={!props.shared} onClick={() => props.onShared(false)}>
          Mine
        </button>
        <button type="button" role="tab" aria-selected={props.shared} onClick={() => props.onShared(true)}>
          Shared with me
        </button>
      </div>
      <input
        type="search"
        aria-label="Search templates"
        placeholder="Search title and text"
        value={props.query}
        onChange={(e) => props.onQuery(e.target.value)}
      />
    </div>
  );
}
