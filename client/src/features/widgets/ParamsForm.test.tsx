// @vitest-environment happy-dom
import { act } from 'react';
import { createRoot, type Root } from 'react-dom/client';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { z } from 'zod';
import { SamplerSettings } from '../../../../nodes/sample/samplerSettings.ts';
import { NodeDef } from '../../api/nodeDefs.ts';
import { fixtureDefs } from '../../test/fixtureDefs.ts';
import { ParamsForm } from './ParamsForm.tsx';

// Tells React that updates are wrapped in act().
(globalThis as { IS_REACT_ACT_ENVIRONMENT?: boolean }).IS_REACT_ACT_ENVIRONMENT = true;

let host: HTMLDivElement;
let root: Root;

beforeEach(() => {
  host = document.createElement('div');
  document.body.append(host);
  root = createRoot(host);
});
afterEach(() => {
  act(() => root.unmount());
  host.remove();
});

describe('ParamsForm (component)', () => {
  it('renders each param with the widget its schema asks for, advanced ones behind a toggle', () => {
    const def = fixtureDefs().byType['test/resize']!;
    const onChange = vi.fn();
    act(() =>
      root.render(
        <ParamsForm nodeId="5" def={def} params={{ size: 512, mode: 'crop' }} onChange={onChange} />,
      ),
    );
    const slider = host.querySelector<HTMLInputElement>('input[type="range"]')!;
    expect(slider.min).toBe('64');
    expect(slider.max).toBe('2048');
    expect(slider.step).toBe('64');
    const number = host.querySelector<HTMLInputElement>('#p-5-size')!;
    expect(number.type).toBe('number');
    expect(number.value).toBe('512');
    const select = host.querySelector<HTMLSelectElement>('#p-5-mode')!;
    expect([...select.options].map((o) => o.value)).toEqual(['crop', 'pad', 'stretch']);
    expect(host.querySelector('label[for="p-5-size"]')?.textContent).toBe('Size');
    // Widgets do not drag or zoom the canvas.
    expect(number.classList.contains('nodrag')).toBe(true);
    expect(number.classList.contains('nowheel')).toBe(true);

    const train = fixtureDefs().byType['test/train']!;
    act(() =>
      root.render(<ParamsForm nodeId="6" def={train} params={{ steps: 10, lr: 0.1 }} onChange={onChange} />),
    );
    expect(host.querySelector('#p-6-lr')).toBeNull();
    const toggle = host.querySelector<HTMLButtonElement>('.advanced-toggle')!;
    expect(toggle.textContent).toContain('Advanced (1)');
    act(() => toggle.click());
    expect(host.querySelector('#p-6-lr')).not.toBeNull();
  });

  it('marks invalid values inline and shows server errors on their field', () => {
    const def = fixtureDefs().byType['test/resize']!;
    act(() =>
      root.render(
        <ParamsForm
          nodeId="5"
          def={def}
          params={{ size: 4096, mode: 'crop' }}
          problems={[{ field: 'mode', message: 'not supported on this engine' }]}
          onChange={() => undefined}
        />,
      ),
    );
    const errors = [...host.querySelectorAll('.field-error')].map((e) => e.textContent);
    expect(errors).toEqual(['Must be at most 2048', 'not supported on this engine']);
    expect(host.querySelector('#p-5-size')?.getAttribute('aria-invalid')).toBe('true');
  });

  it('reports edits with the param key and a typed value', () => {
    const def = fixtureDefs().byType['test/resize']!;
    const onChange = vi.fn();
    act(() =>
      root.render(
        <ParamsForm nodeId="5" def={def} params={{ size: 512, mode: 'crop' }} onChange={onChange} />,
      ),
    );
    const select = host.querySelector<HTMLSelectElement>('#p-5-mode')!;
    act(() => {
      select.value = 'pad';
      select.dispatchEvent(new Event('change', { bubbles: true }));
    });
    expect(onChange).toHaveBeenCalledWith('mode', 'pad');
  });

  it('shows "auto" sizes as a checked auto switch; typing a number or unticking it gives a number', () => {
    const def = NodeDef.parse({
      type: 'loraflow/sample/sample',
      version: '1.0.0',
      title: 'Sample',
      params: z.toJSONSchema(SamplerSettings, { io: 'input' }),
    });
    const onChange = vi.fn();
    const render = (params: Record<string, unknown>) =>
      act(() => root.render(<ParamsForm nodeId="7" def={def} params={params} onChange={onChange} />));
    render({ width: 'auto', height: 640 });
    const autoBox = (key: string) =>
      host.querySelector<HTMLInputElement>(`input[aria-label="p-7-${key} auto"]`)!;
    const width = host.querySelector<HTMLInputElement>('#p-7-width')!;
    expect(autoBox('width').checked).toBe(true);
    expect(autoBox('width').parentElement?.textContent).toBe('auto');
    expect(width.value).toBe('');
    expect(width.placeholder).toBe('auto');
    expect(autoBox('height').checked).toBe(false);
    expect(host.querySelector<HTMLInputElement>('#p-7-height')!.value).toBe('640');
    expect(host.querySelectorAll('.field-error')).toHaveLength(0);

    // Typing a size replaces auto with the number.
    act(() => {
      Object.getOwnPropertyDescriptor(HTMLInputElement.prototype, 'value')!.set!.call(width, '768');
      width.dispatchEvent(new Event('input', { bubbles: true }));
    });
    expect(onChange).toHaveBeenLastCalledWith('width', 768);
    // Ticking auto sets the word; unticking brings back the number the field had.
    act(() => autoBox('height').click());
    expect(onChange).toHaveBeenLastCalledWith('height', 'auto');
    render({ width: 'auto', height: 'auto' });
    expect(host.querySelector<HTMLInputElement>('#p-7-height')!.placeholder).toBe('auto');
    act(() => autoBox('height').click());
    expect(onChange).toHaveBeenLastCalledWith('height', 640);
  });
});
