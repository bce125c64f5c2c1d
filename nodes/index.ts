import { blipCaption } from './caption/blipCaption.ts';
import { captionEdit } from './caption/captionEdit.ts';
import { wd14Tagger } from './caption/wd14Tagger.ts';
import { loadImages } from './dataset/loadImages.ts';
import { cropResize } from './image/cropResize.ts';
import { loadCheckpoint } from './model/loadCheckpoint.ts';
import { loadLora } from './model/loadLora.ts';
import { regularizationGenerate } from './sample/regularization.ts';
import { sample } from './sample/sample.ts';
import { saveDataset } from './save/saveDataset.ts';
import { saveImages } from './save/saveImages.ts';
import { saveLora } from './save/saveLora.ts';
import type { AnyNodeDefinition } from './sdk/defineNode.ts';
import { NodeRegistry } from './sdk/registry.ts';
import { loraTrain } from './train/loraTrain.ts';

/**
 * The catalogue of built-in nodes. To add a node: import its definition and add one entry here.
 * `nodes/index.test.ts` fails if any entry does not register.
 */
export const builtinNodes: AnyNodeDefinition[] = [
  loadImages,
  cropResize,
  captionEdit,
  wd14Tagger,
  blipCaption,
  saveLora,
  saveImages,
  saveDataset,
  loadCheckpoint,
  loadLora,
  sample,
  regularizationGenerate,
  loraTrain,
];

/** A registry holding every built-in node. */
export function createBuiltinRegistry(): NodeRegistry {
  return new NodeRegistry().registerAll(builtinNodes);
}
