import { indexNodeDefs, type NodeDefs, NodesResponse } from '../api/nodeDefs.ts';

/** Node definitions shaped like `GET /api/nodes`, for unit tests. */
export const fixtureResponse = {
  sockets: {
    IMAGES: { color: '#64b5f6' },
    MODEL: { color: '#b39ddb' },
    LORA: { color: '#9ccc65' },
    PROMPTS: { color: '#ffb74d' },
    ANY: { color: '#9e9e9e' },
  },
  nodes: [
    {
      type: 'test/load-images',
      version: '1.0.0',
      title: 'Load Images',
      category: 'dataset',
      description: 'Loads a folder',
      inputs: {},
      outputs: { images: { type: 'IMAGES' } },
      params: {
        type: 'object',
        properties: {
          folder: { type: 'string', default: '', ui: { widget: 'folder', root: 'dataset', group: 'basic' } },
          recursive: { type: 'boolean', default: false, ui: { group: 'advanced' } },
        },
        required: ['folder', 'recursive'],
      },
    },
    {
      type: 'test/resize',
      version: '1.2.0',
      title: 'Resize',
      category: 'image',
      description: 'Resizes images',
      inputs: { images: { type: 'IMAGES' } },
      outputs: { images: { type: 'IMAGES' } },
      params: {
        type: 'object',
        properties: {
          size: {
            type: 'integer',
            minimum: 64,
            maximum: 2048,
            default: 512,
            ui: { widget: 'slider', step: 64 },
          },
          mode: { type: 'string', enum: ['crop', 'pad', 'stretch'], default: 'crop' },
        },
      },
    },
    {
      type: 'test/load-model',
      version: '1.0.0',
      title: 'Load Model',
      category: 'model',
      description: '',
      inputs: {},
      outputs: { model: { type: 'MODEL' } },
      params: {
        type: 'object',
        properties: { path: { type: 'string', default: '', ui: { widget: 'model' } } },
      },
    },
    {
      type: 'test/train',
      version: '1.0.0',
      title: 'LoRA Train',
      category: 'training',
      description: '',
      heavy: true,
      inputs: {
        model: { type: 'MODEL' },
        images: { type: 'IMAGES' },
        regularization: { type: 'IMAGES', optional: true, list: true },
      },
      outputs: { lora: { type: 'LORA' } },
      params: {
        type: 'object',
        properties: {
          steps: { type: 'integer', minimum: 1, maximum: 100000, default: 1000 },
          lr: { type: 'number', exclusiveMinimum: 0, maximum: 1, default: 0.0001, ui: { group: 'advanced' } },
        },
      },
    },
    {
      type: 'test/save',
      version: '1.0.0',
      title: 'Save',
      category: 'output',
      description: '',
      output: true,
      inputs: { value: { type: 'ANY' } },
      outputs: {},
      params: { type: 'object', properties: { name: { type: 'string', default: 'out' } } },
    },
  ],
};

export function fixtureDefs(): NodeDefs {
  return indexNodeDefs(NodesResponse.parse(fixtureResponse));
}
