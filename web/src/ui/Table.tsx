/** A table's header row: one column header per label, then (with `actions`) a last column for row buttons, named
 * for screen readers only. */
export function TableHead(props: { columns: string[]; actions?: boolean }) {
  return (
    <thead>
      <tr>
        {props.columns.map((column) => (
          <th key={column} scope="col">
            {column}
          </th>
        ))}
        {props.actions ? (
          <th scope="col">
            <span className="sr-only">Actions</span>
          </th>
        ) : null}
      </tr>
    </thead>
  );
}

/** The one row of a table that has none yet, across its `columns`. */
export function EmptyRow(props: { columns: number; children: string }) {
  return (
    <tr>
      <td colSpan={props.columns} className="muted">
        {props.children}
      </td>
    </tr>
  );
}
