// One labelled input with an optional hint; the hint and the invalid state
// are tied to the input for screen readers.
import type { InputHTMLAttributes } from 'preact';

type InputProps = InputHTMLAttributes<HTMLInputElement>;

export function Field(p: {
  id: string;
  label: string;
  hint?: string;
  invalid?: boolean;
  testid: string;
  value: string;
  onInput: (v: string) => void;
  input: InputProps;
}) {
  const hintId = p.hint ? p.id + '-hint' : undefined;
  return (
    <div class="auth-field">
      <label for={p.id}>{p.label}</label>
      <input
        id={p.id}
        name={p.id}
        data-testid={p.testid}
        value={p.value}
        aria-describedby={hintId}
        aria-invalid={p.invalid ? 'true' : undefined}
        onInput={(e) => p.onInput((e.currentTarget as HTMLInputElement).value)}
        {...p.input}
      />
      {p.hint && (
        <p id={hintId} class="auth-hint">
          {p.hint}
        </p>
      )}
    </div>
  );
}

/** Attributes of a username input: no capitals or corrections forced on it. */
export const usernameInput: InputProps = {
  type: 'text',
  name: 'username',
  autocomplete: 'username',
  autocapitalize: 'none',
  autocorrect: 'off',
  spellcheck: false,
  required: true,
  minLength: 3,
  maxLength: 32,
};
