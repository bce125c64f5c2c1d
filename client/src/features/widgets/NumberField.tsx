import { useEffect, useRef, useState } from 'react';

type Props = {
  id: string;
  value: unknown;
  integer: boolean;
  min?: number;
  max?: number;
  step?: number;
  slider: boolean;
  invalid: boolean;
  /** A word the param takes instead of a number ("auto"): shown as a checkbox next to the number. */
  keyword?: string;
  onChange(value: number | string): void;
};

/**
 * A number input (plus a range slider when min and max are known). The text is kept locally while typing so
 * that intermediate states such as "0." or "-" are not lost; each parseable value is committed at once.
 * With a keyword, a checkbox sets the param to that word; the number input then shows the word as its
 * placeholder, and typing a number or moving the slider turns the word off.
 */
export function NumberField(props: Props) {
  const { id, value, integer, min, max, step, slider, invalid, keyword, onChange } = props;
  const [draft, setDraft] = useState(() => (typeof value === 'number' ? String(value) : ''));
  /** The last number the param held, restored when the keyword is switched off. */
  const lastNumber = useRef(typeof value === 'number' ? value : undefined);
  useEffect(() => {
    if (typeof value === 'number') lastNumber.current = value;
    setDraft((d) => {
      if (keyword !== undefined && value === keyword) return '';
      return typeof value === 'number' && Number(d) !== value ? String(value) : d;
    });
  }, [value, keyword]);
  const commit = (text: string) => {
    setDraft(text);
    if (text.trim() === '') return;
    const n = Number(text);
    if (Number.isFinite(n)) onChange(n);
  };
  const isKeyword = keyword !== undefined && value === keyword;
  return (
    <div className={isKeyword ? 'number-field keyword-on' : 'number-field'}>
      {keyword !== undefined && (
        <label className="keyword-toggle nodrag" title={`Use "${keyword}" instead of a number`}>
          <input
            type="checkbox"
            className="nodrag"
            aria-label={`${id} ${keyword}`}
            checked={isKeyword}
            onChange={(e) => onChange(e.target.checked ? keyword : (lastNumber.current ?? min ?? 0))}
          />
          {keyword}
        </label>
      )}
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
        placeholder={isKeyword ? keyword : undefined}
        aria-invalid={invalid}
        onChange={(e) => commit(e.target.value)}
      />
    </div>
  );
}
