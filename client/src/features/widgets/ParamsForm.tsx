import { memo, useMemo, useState } from 'react';
import type { NodeDef } from '../../api/nodeDefs.ts';
import type { NodeProblem } from '../run/executionStore.ts';
import { ParamWidget } from './ParamWidget.tsx';
import { type ParamField, paramFields } from './schemaToWidget.ts';
import { validateParam } from './validateParam.ts';

type Props = {
  nodeId: string;
  def: NodeDef;
  params: Record<string, unknown>;
  problems?: NodeProblem[];
  onChange(key: string, value: unknown): void;
};

const fieldsCache = new WeakMap<NodeDef, ParamField[]>();
function fieldsOf(def: NodeDef): ParamField[] {
  let f = fieldsCache.get(def);
  if (!f) {
    f = paramFields(def);
    fieldsCache.set(def, f);
  }
  return f;
}

/** A node's params as widgets: basic ones always shown, advanced ones behind a toggle. */
export const ParamsForm = memo(function ParamsForm({ nodeId, def, params, problems, onChange }: Props) {
  const fields = fieldsOf(def);
  const [showAdvanced, setShowAdvanced] = useState(false);
  const basic = fields.filter((f) => f.group === 'basic');
  const advanced = fields.filter((f) => f.group === 'advanced');
  const serverByField = useMemo(() => {
    const m = new Map<string, string>();
    for (const p of problems ?? []) if (p.field) m.set(p.field.split('.')[0]!, p.message);
    return m;
  }, [problems]);
  const advancedInvalid = advanced.some(
    (f) => serverByField.has(f.key) || validateParam(f.schema, params[f.key], f.required) !== null,
  );
  const row = (f: ParamField) => (
    <FieldRow
      key={f.key}
      nodeId={nodeId}
      field={f}
      value={params[f.key]}
      serverError={serverByField.get(f.key)}
      onChange={onChange}
    />
  );
  if (fields.length === 0) return null;
  return (
    <div className="params">
      {basic.map(row)}
      {advanced.length > 0 && (
        <button
          type="button"
          className={`advanced-toggle nodrag${advancedInvalid ? ' invalid' : ''}`}
          aria-expanded={showAdvanced}
          onClick={() => setShowAdvanced((s) => !s)}
        >
          {showAdvanced ? '▾' : '▸'} Advanced ({advanced.length})
        </button>
      )}
      {showAdvanced && advanced.map(row)}
    </div>
  );
});

function FieldRow(props: {
  nodeId: string;
  field: ParamField;
  value: unknown;
  serverError?: string;
  onChange(key: string, value: unknown): void;
}) {
  const { field, value, nodeId } = props;
  const id = `p-${nodeId}-${field.key}`;
  const local = validateParam(field.schema, value, field.required);
  const message = local ?? props.serverError ?? null;
  const wide = field.spec.kind === 'text' && field.spec.multiline;
  return (
    <div className={`param${wide ? ' wide' : ''}${message ? ' invalid' : ''}`} title={field.description}>
      <label htmlFor={id}>{field.label}</label>
      <ParamWidget
        id={id}
        spec={field.spec}
        value={value}
        invalid={message !== null}
        onChange={(v) => props.onChange(field.key, v)}
      />
      {message && (
        <div className="field-error" role="alert">
          {message}
        </div>
      )}
    </div>
  );
}
