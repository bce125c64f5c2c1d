import { DEFAULT_PORT } from '../config/config.ts';

export const USAGE = `loraflow: node-based dataset building and LoRA training

Usage:
  loraflow serve [--host HOST] [--port PORT] [--data DIR] [--token TOKEN|auto] [--config FILE]
      Start the editor and API server (default http://127.0.0.1:${DEFAULT_PORT}).
      Listening on an address other than loopback requires a token.
  loraflow run <workflow.json> [--set nodeId.param=value ...] [--output-dir DIR] [--json] [--data DIR]
      Run a workflow headless, in this process. Exit code 0 on success, 1 when a node fails.
      --set values are JSON when they parse as JSON, otherwise strings.
  loraflow validate <workflow.json> [--set nodeId.param=value ...] [--json]
      Check a workflow and print every problem per node and field.
  loraflow nodes [--json]
      List the node types.
  loraflow cache gc [--max-size SIZE] [--data DIR] [--json]
      Delete least recently used cache entries until the cache fits SIZE (e.g. 20GB; default: configured limit).
  loraflow help | --version

Common options: --config FILE (default ./loraflow.config.json when present), --data DIR (default ./data).
Environment: LORAFLOW_DATA, LORAFLOW_PORT, LORAFLOW_HOST, LORAFLOW_TOKEN, LORAFLOW_CONFIG, LORAFLOW_ENGINE_BIN.
`;
