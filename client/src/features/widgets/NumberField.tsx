import { useEffect, useState } from 'react';

type Props = {
  id: string;
  value: unknown;
  integer: boolean;
  min?: number;
  max?: number;
  step?: number;
  slider: boolean;
  invalid: boolean;
  onChange(value: number): void;
};

/**
 * A number input (plus a range slider when min and max are known). The text is kept locally while typing so
 * that intermediate states such as "0." or "-" are not lost; each parseable value is committed at once.
 */
export function NumberField({ id, value, integer, min, max, step, slider, invalid, onChange }: Props) {
  const [draft, setDraft] = useState(() => (typeof value === 'number' ? String(value) : ''));
  useEffect(() => {
    setDraft((d) => (typeof value === 'number' && Number(d) !== value ? String(value) : d));
  }, [value]);
  const commit = (text: string) => {
    setDraft(text);
    if (text.trim() === '') return;
    const n = Number(text);
    if (Number.isFinite(n)) onChange(n);
  };
  return (
    <div className="number-field">
      {slider && (
        <input
          type="range"
          className="nodrag nowheel"
          aria-label={`${id} slider`}
          min={min}
          max={max}
          step={step ?? (integer ? 1 : 'any')}
          value={typeof value === 'number' ? value : (min ?? 0)}
          onChange={(e) => commit(e.target.value)}
        />
      )}
      <input
        id={id}
        type="number"
        className="nodrag nowheel"
        inputMode={integer ? 'numeric' : 'decimal'}
        min={min}
        max={max}
        step={step ?? 'any'}
        value={draft}
        aria-invalid={invalid}
        onChange={(e) => commit(e.target.value)}
      />
    </div>
  );
}
