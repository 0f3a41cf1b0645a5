import { useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import type { ModelRecord } from "../api/clients";
import { keys, modelScheduleQuery, queryError } from "../app/queries";
import { useServices } from "../app/services";
import { ErrorBox } from "../ui/ConfirmDialog";
import { useAction } from "../ui/useAction";
import {
  browserTimeZone,
  describeTransition,
  scheduleForm,
  schedulePayload,
  WEEKDAYS,
  type DayWindow,
  type NextTransition,
  type ScheduleForm,
} from "./modelSchedule";

function WindowFields(props: { label: string; value: DayWindow; onChange: (w: DayWindow) => void }) {
  return (
    <>
      <label>
        {props.label} start
        <input
          type="time"
          value={props.value.startTime}
          onChange={(e) => props.onChange({ ...props.value, startTime: e.target.value })}
        />
      </label>
      <label>
        {props.label} stop
        <input
          type="time"
          value={props.value.stopTime}
          onChange={(e) => props.onChange({ ...props.value, stopTime: e.target.value })}
        />
      </label>
    </>
  );
}

function Transitions(props: { items: NextTransition[]; timezone: string }) {
  if (!props.items.length) return <p className="muted">No schedule: the model runs until it is stopped.</p>;
  return (
    <ol className="events" data-testid="next-transitions" aria-label="Next transitions">
      {props.items.map((t) => (
        <li key={`${t.action}-${t.scheduledTime}`}>
          <span className={t.action === "START" ? "status status-InService" : "status status-Stopped"}>{t.action}</span>{" "}
          {describeTransition(t, props.timezone)}
        </li>
      ))}
    </ol>
  );
}

/** A hosted model's start/stop schedule (LISA v6): edit, save (the model deploys it), remove; the next transitions. */
export function ModelScheduleEditor(props: { model: ModelRecord; onSaved: () => Promise<void> }) {
  const { api } = useServices();
  const client = useQueryClient();
  const { model } = props;
  const query = useQuery(modelScheduleQuery(api, model.modelId));
  const current = query.data;
  const [form, setForm] = useState<ScheduleForm | null>(null);
  const [saved, setSaved] = useState<NextTransition[] | null>(null);
  const { busy, error, run } = useAction();
  const shown = form ?? (query.isSuccess ? scheduleForm(current?.scheduling, browserTimeZone()) : null);
  const set = (change: Partial<ScheduleForm>) => shown && setForm({ ...shown, ...change });
  const refresh = async () => {
    await client.invalidateQueries({ queryKey: keys.modelSchedule(model.modelId) });
    await props.onSaved();
  };

  function submit(e: FormEvent) {
    e.preventDefault();
    if (!shown) return;
    void run(async () => {
      const answer = await api.putSchedule(model.modelId, schedulePayload(shown));
      setSaved(answer.nextTransitions ?? []);
      await refresh();
    }, "Save schedule");
  }

  const upcoming = saved ?? current?.nextTransitions ?? [];
  const zone = shown?.timezone ?? "UTC";
  return (
    <div>
      <ErrorBox error={queryError(query)} />
      {shown ? (
        <form aria-label={`Schedule of ${model.modelId}`} onSubmit={submit}>
          <p className="muted">
            Outside its windows the model is stopped (scaled to zero, as Stop does) and started again when the next
            window opens. A window lasts at least 2 hours; a stop before the start is the next day.
          </p>
          <div className="grid2">
            <label>
              Schedule type
              <select
                value={shown.scheduleType}
                onChange={(e) => set({ scheduleType: e.target.value as ScheduleForm["scheduleType"] })}
              >
                <option value="DAILY">DAILY: a window per weekday</option>
                <option value="RECURRING">RECURRING: the same window every day</option>
              </select>
            </label>
            <label>
              Time zone
              <input value={shown.timezone} onChange={(e) => set({ timezone: e.target.value })} />
              <span className="hint">IANA name, e.g. Europe/Berlin</span>
            </label>
          </div>
          {shown.scheduleType === "RECURRING" ? (
            <div className="grid2">
              <WindowFields label="Daily" value={shown.daily} onChange={(daily) => set({ daily })} />
            </div>
          ) : (
            <fieldset>
              <legend>Weekdays</legend>
              {WEEKDAYS.map((day) => (
                <div className="row wrap" key={day}>
                  <label className="row">
                    <input
                      type="checkbox"
                      checked={shown.days[day].on}
                      onChange={(e) =>
                        set({ days: { ...shown.days, [day]: { ...shown.days[day], on: e.target.checked } } })
                      }
                    />
                    {day}
                  </label>
                  {shown.days[day].on ? (
                    <WindowFields
                      label={day}
                      value={shown.days[day]}
                      onChange={(w) => set({ days: { ...shown.days, [day]: w } })}
                    />
                  ) : null}
                </div>
              ))}
            </fieldset>
          )}
          <ErrorBox error={error} />
          <div className="row wrap">
            <button type="submit" className="primary" disabled={busy}>
              Save schedule
            </button>
            {current?.scheduling ? (
              <button
                type="button"
                disabled={busy}
                onClick={() =>
                  void run(async () => {
                    await api.deleteSchedule(model.modelId);
                    setSaved([]);
                    setForm(null);
                    await refresh();
                  }, "Remove schedule")
                }
              >
                Remove schedule
              </button>
            ) : null}
          </div>
        </form>
      ) : null}
      <h3>Next transitions</h3>
      <Transitions items={upcoming} timezone={saved ? zone : (current?.scheduling?.timezone ?? zone)} />
    </div>
  );
}
