// Process-wide metrics (CPU, memory, event loop, GC: prom-client's defaults), collected once per process
// and rendered by every metrics endpoint in it. Two gateways, or a gateway and a monitor (`chroma-ha dev`),
// in one process share one process; each keeps its own registry for everything else.
import { collectDefaultMetrics, Registry } from 'prom-client';

let shared: Registry | null = null;

function processRegistry(): Registry {
  if (!shared) {
    shared = new Registry();
    collectDefaultMetrics({ register: shared });
  }
  return shared;
}

/** A component's own metrics followed by the process metrics, in the text exposition format. */
export function renderWithProcessMetrics(registry: Registry): Promise<string> {
  return Registry.merge([registry, processRegistry()]).metrics();
}
