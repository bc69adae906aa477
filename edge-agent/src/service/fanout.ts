// Fan-out consumers: one upstream, many downstream. A failing consumer does not stop the others;
// the first error is rethrown after all have been called.
import type { MetricsConsumer, WindowConsumer } from '../component.js';
import type { FeatureWindow, MetricBatch } from '../pdata.js';

export function fanoutMetrics(consumers: MetricsConsumer[]): MetricsConsumer {
  if (consumers.length === 1) return consumers[0]!;
  return {
    async consumeMetrics(batch: MetricBatch): Promise<void> {
      const results = await Promise.allSettled(consumers.map((c) => c.consumeMetrics(batch)));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    },
  };
}

export function fanoutWindows(consumers: WindowConsumer[]): WindowConsumer {
  if (consumers.length === 1) return consumers[0]!;
  return {
    async consumeWindow(w: FeatureWindow): Promise<void> {
      const results = await Promise.allSettled(consumers.map((c) => c.consumeWindow(w)));
      const failed = results.find((r) => r.status === 'rejected');
      if (failed) throw (failed as PromiseRejectedResult).reason;
    },
  };
}
