import { useEffect, useState } from 'react';
import { ModelPicker } from './ModelPicker.tsx';
import { NumberField } from './NumberField.tsx';
import { PathPicker } from './PathPicker.tsx';
import type { WidgetSpec } from './schemaToWidget.ts';

type Props = {
  id: string;
  spec: WidgetSpec;
  value: unknown;
  invalid: boolean;
  onChange(value: unknown): void;
};

const asString = (v: unknown) => (typeof v === 'string' ? v : v === undefined || v === null ? '' : String(v));

/** Renders the widget a param's schema asks for. Every case of `WidgetSpec` is handled. */
export function ParamWidget({ id, spec, value, invalid, onChange }: Props) {
  switch (spec.kind) {
    case 'number':
      return (
        <NumberField
          id={id}
          value={value}
          integer={spec.integer}
          min={spec.min}
          max={spec.max}
          step={spec.step}
          slider={spec.slider}
          invalid={invalid}
          keyword={spec.keyword}
          onChange={onChange}
        />
      );
    case 'seed':
      return (
        <div className="path-row">
          <NumberField id={id} value={value} integer slider={false} invalid={invalid} onChange={onChange} />
          <button
            type="button"
            className="nodrag small"
            aria-label="Random seed"
            onClick={() => onChange(Math.floor(Math.random() * 2 ** 32))}
          >
            ⟳
          </button>
        </div>
      );
    case 'select':
      return (
        <select
          id={id}
          className="nodrag"
          value={asString(value)}
          aria-invalid={invalid}
          onChange={(e) => {
            const picked = spec.options.find((o) => String(o) === e.target.value);
            onChange(picked ?? e.target.value);
          }}
        >
          {!spec.options.some((o) => o === value) && (
            <option value={asString(value)}>{asString(value) || '—'}</option>
          )}
          {spec.options.map((o) => (
            <option key={String(o)} value={String(o)}>
              {String(o)}
            </option>
          ))}
        </select>
      );
    case 'text':
      return spec.multiline ? (
        <textarea
          id={id}
          className="nodrag nowheel"
          rows={3}
          value={asString(value)}
          placeholder={spec.placeholder}
          aria-invalid={invalid}
          onChange={(e) => onChange(e.target.value)}
        />
      ) : (
        <input
          id={id}
          type="text"
          className="nodrag"
          value={asString(value)}
          placeholder={spec.placeholder}
          aria-invalid={invalid}
          onChange={(e) => onChange(e.target.value)}
        />
      );
    case 'boolean':
      return (
        <input
          id={id}
          type="checkbox"
          className="nodrag"
          checked={value === true}
          aria-invalid={invalid}
          onChange={(e) => onChange(e.target.checked)}
        />
      );
    case 'color':
      return (
        <input
          id={id}
          type="color"
          className="nodrag"
          value={asString(value) || '#000000'}
          onChange={(e) => onChange(e.target.value)}
        />
      );
    case 'path':
      return (
        <PathPicker
          id={id}
          value={asString(value)}
          mode={spec.mode}
          root={spec.root}
          extensions={spec.extensions}
          invalid={invalid}
          onChange={onChange}
        />
      );
    case 'model':
      return (
        <ModelPicker
          id={id}
          value={asString(value)}
          root={spec.root}
          extensions={spec.extensions}
          invalid={invalid}
          onChange={onChange}
        />
      );
    case 'json':
      return <JsonField id={id} value={value} invalid={invalid} onChange={onChange} />;
    default: {
      const never: never = spec;
      return never;
    }
  }
}

/** Objects and arrays without a dedicated widget are edited as JSON text, committed when it parses. */
function JsonField({ id, value, invalid, onChange }: Omit<Props, 'spec'>) {
  const [text, setText] = useState(() => JSON.stringify(value ?? null, null, 1));
  const [bad, setBad] = useState(false);
  useEffect(() => {
    setText((t) => {
      try {
        return JSON.stringify(JSON.parse(t)) === JSON.stringify(value ?? null)
          ? t
          : JSON.stringify(value ?? null, null, 1);
      } catch {
        return t;
      }
    });
  }, [value]);
  return (
    <textarea
      id={id}
      className="nodrag nowheel mono"
      rows={2}
      value={text}
      aria-invalid={invalid || bad}
      onChange={(e) => {
        setText(e.target.value);
        try {
          onChange(JSON.parse(e.target.value));
          setBad(false);
        } catch {
          setBad(true);
        }
      }}
    />
  );
}
