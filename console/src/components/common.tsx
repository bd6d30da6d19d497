import { type FormEvent, type ReactNode, useCallback, useEffect, useId, useState } from 'react';
import { type ApiFailure, failureOf } from '../api/client';

/** What an openapi-fetch call answers. */
export interface Answer<T> {
  readonly data?: T;
  readonly error?: unknown;
  readonly response: Response;
}

export type Loaded<T> =
  | { state: 'loading' }
  | { state: 'failed'; failure: ApiFailure }
  | { state: 'loaded'; data: T; at: number };

/** Calls `load` now and whenever `deps` change; `reload` calls it again. */
export function useLoad<T>(
  load: () => Promise<Answer<T>>,
  deps: readonly unknown[],
): Loaded<T> & { reload: () => void } {
  const [result, setResult] = useState<Loaded<T>>({ state: 'loading' });
  const [tick, setTick] = useState(0);
  // biome-ignore lint/correctness/useExhaustiveDependencies: the caller names what the load depends on
  useEffect(() => {
    let current = true;
    load().then(
      (answer) => {
        if (!current) return;
        if (answer.data !== undefined && answer.response.ok)
          setResult({ state: 'loaded', data: answer.data, at: Date.now() });
        else setResult({ state: 'failed', failure: failureOf(answer.error, answer.response) });
      },
      (error: unknown) => current && setResult({ state: 'failed', failure: failureOf(String(error), undefined) }),
    );
    return () => {
      current = false;
    };
  }, [...deps, tick]);
  const reload = useCallback(() => setTick((t) => t + 1), []);
  return { ...result, reload };
}

/** The server's refusal or failure, as it said it. */
export function Failure({ failure, label }: { failure: ApiFailure; label?: string }) {
  return (
    <div role="alert" className="failure">
      {label ? <strong>{label}: </strong> : null}
      {failure.status > 0 ? `${failure.status} ` : ''}
      <code>{failure.code}</code> {failure.message}
    </div>
  );
}

export function Loading({ what }: { what: string }) {
  return <p aria-live="polite">Loading {what}…</p>;
}

/** Renders the loaded data, or the loading note, or the failure. */
export function Show<T>({
  loaded,
  what,
  children,
}: {
  loaded: Loaded<T>;
  what: string;
  children: (data: T) => ReactNode;
}) {
  if (loaded.state === 'loading') return <Loading what={what} />;
  if (loaded.state === 'failed') return <Failure failure={loaded.failure} label={`Could not load ${what}`} />;
  return <>{children(loaded.data)}</>;
}

export function Field({
  label,
  children,
  hint,
}: {
  label: string;
  hint?: string;
  children: (props: { id: string; 'aria-describedby'?: string }) => ReactNode;
}) {
  const id = useId();
  const hintId = `${id}-hint`;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      {children({ id, ...(hint ? { 'aria-describedby': hintId } : {}) })}
      {hint ? (
        <small id={hintId} className="hint">
          {hint}
        </small>
      ) : null}
    </div>
  );
}

export function TextField({
  label,
  value,
  onChange,
  required,
  type = 'text',
  hint,
  ...rest
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  required?: boolean;
  type?: string;
  hint?: string;
  min?: number;
  max?: number;
  step?: number | string;
  placeholder?: string;
}) {
  return (
    <Field label={label} {...(hint ? { hint } : {})}>
      {(props) => (
        <input
          {...props}
          {...rest}
          type={type}
          value={value}
          required={required}
          onChange={(e) => onChange(e.target.value)}
        />
      )}
    </Field>
  );
}

export function SelectField({
  label,
  value,
  onChange,
  options,
}: {
  label: string;
  value: string;
  onChange: (value: string) => void;
  options: readonly (string | { value: string; label: string })[];
}) {
  return (
    <Field label={label}>
      {(props) => (
        <select {...props} value={value} onChange={(e) => onChange(e.target.value)}>
          {options.map((o) => {
            const { value: v, label: l } = typeof o === 'string' ? { value: o, label: o } : o;
            return (
              <option key={v} value={v}>
                {l}
              </option>
            );
          })}
        </select>
      )}
    </Field>
  );
}

/** Every write carries why and under which ticket; the server refuses it without them. */
export function ReasonAndTicket({
  reason,
  ticket,
  onReason,
  onTicket,
}: {
  reason: string;
  ticket: string;
  onReason: (v: string) => void;
  onTicket: (v: string) => void;
}) {
  return (
    <>
      <TextField label="Reason" value={reason} onChange={onReason} required />
      <TextField label="Ticket" value={ticket} onChange={onTicket} required placeholder="e.g. SUP-1234" />
    </>
  );
}

export type Outcome = { kind: 'done'; message: string } | { kind: 'failed'; failure: ApiFailure };

/** The outcome of the last submission, announced to screen readers. */
export function OutcomeNote({ outcome }: { outcome: Outcome | undefined }) {
  if (!outcome) return null;
  if (outcome.kind === 'failed') return <Failure failure={outcome.failure} label="Refused" />;
  return (
    <p role="status" className="done">
      {outcome.message}
    </p>
  );
}

/**
 * A form named for what it does: each action is a submit button named for it (one by default, the form's name),
 * its outcome shows beneath. The buttons are disabled while a request is on its way, so one click is one command.
 */
export function ActionForm({
  name,
  children,
  submit,
  actions,
}: {
  name: string;
  children: ReactNode;
  submit?: () => Promise<Outcome>;
  actions?: readonly { label: string; run: () => Promise<Outcome> }[];
}) {
  const [busy, setBusy] = useState(false);
  const [outcome, setOutcome] = useState<Outcome>();
  const all = actions ?? (submit ? [{ label: name, run: submit }] : []);
  const onSubmit = async (e: FormEvent<HTMLFormElement>) => {
    e.preventDefault();
    const submitter = (e.nativeEvent as SubmitEvent).submitter as HTMLButtonElement | null;
    const action = all.find((a) => a.label === submitter?.value) ?? all[0];
    if (!action) return;
    setBusy(true);
    setOutcome(undefined);
    try {
      setOutcome(await action.run());
    } catch (error) {
      setOutcome({ kind: 'failed', failure: failureOf(String(error), undefined) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <form aria-label={name} onSubmit={onSubmit} className="action">
      <h3>{name}</h3>
      {children}
      <div className="buttons">
        {all.map((a) => (
          <button key={a.label} type="submit" value={a.label} disabled={busy}>
            {a.label}
          </button>
        ))}
      </div>
      <OutcomeNote outcome={outcome} />
    </form>
  );
}

/** An answer to a write as a sentence: applied, rejected with its code, queued, or waiting for approval. */
export function describeWrite(answer: Answer<unknown>, done: string): Outcome {
  if (!answer.response.ok || answer.data === undefined)
    return { kind: 'failed', failure: failureOf(answer.error, answer.response) };
  const data = answer.data as {
    status?: string;
    code?: string;
    message?: string;
    version?: number;
    approvalId?: string;
  };
  if (data.status === 'pending-approval')
    return { kind: 'done', message: `Waiting for a second operator's approval (request ${data.approvalId}).` };
  if (data.status === 'rejected')
    return {
      kind: 'failed',
      failure: { status: answer.response.status, code: data.code ?? 'REJECTED', message: data.message ?? 'rejected' },
    };
  if (data.status === 'queued') return { kind: 'done', message: `${done}: queued.` };
  return { kind: 'done', message: `${done}${data.version !== undefined ? ` (version ${data.version})` : ''}.` };
}

export const WAIT = { Prefer: 'wait=10' } as const;

export const formatTime = (iso: string | null | undefined): string =>
  iso ? `${new Date(iso).toLocaleString('en-GB', { timeZone: 'UTC', hour12: false })} UTC` : '—';

export const show = (value: unknown): string =>
  value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value);

/** A wide table's frame: it scrolls sideways on a narrow screen, and the keyboard can scroll it too. */
export function Scroll({ label, children }: { label: string; children: ReactNode }) {
  return (
    // biome-ignore lint/a11y/noNoninteractiveTabindex: a scrollable region must be focusable to scroll by keyboard
    <section className="scroll" aria-label={label} tabIndex={0}>
      {children}
    </section>
  );
}
