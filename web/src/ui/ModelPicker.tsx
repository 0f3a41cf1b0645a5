import type { ModelInfo } from "../api/openai";

/**
 * A select of models by id. The current value stays selectable when the list lacks it (a saved session's model, a
 * repository's embedding model), marked unavailable once the list is known.
 */
export function ModelPicker(props: {
  label: string;
  models: ModelInfo[];
  value: string;
  onChange: (id: string) => void;
  /** The list has been fetched (before that, a missing value is not yet known to be unavailable). */
  loaded: boolean;
  /** Shown when there is nothing to choose. */
  empty: string;
  /** Label and select on one line (the chat toolbar). */
  inline?: boolean;
  disabled?: boolean;
  onFocus?: () => void;
}) {
  const { label, models, value } = props;
  const missing = value !== "" && !models.some((m) => m.id === value);
  return (
    <label className={props.inline ? "inline" : undefined}>
      {props.inline ? <span>{label}</span> : label}
      <select
        aria-label={label}
        value={value}
        disabled={props.disabled}
        onFocus={props.onFocus}
        onChange={(e) => props.onChange(e.target.value)}
      >
        {!models.length && !value ? <option value="">{props.empty}</option> : null}
        {missing ? <option value={value}>{props.loaded ? `${value} (unavailable)` : value}</option> : null}
        {models.map((m) => (
          <option key={m.id} value={m.id}>
            {m.id}
          </option>
        ))}
      </select>
    </label>
  );
}
