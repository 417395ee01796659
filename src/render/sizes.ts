import type { RelationMetrics } from '../engine/report.js';
import { formatBytes, formatSignedBytes } from '../engine/units.js';

export interface SizeFigures {
  before: number | null;
  after: number | null;
  delta: number;
}

/**
 * The size a relation's row shows: a table's own data (heap + TOAST), so that a new index
 * never reads as the table growing; an index's own size. Reports from before the split
 * (no `table_size_*`) show the total.
 */
export function ownSize(kind: 'table' | 'index', m: RelationMetrics): SizeFigures {
  if (kind === 'table' && m.table_size_delta !== undefined) {
    return {
      before: m.table_size_before ?? null,
      after: m.table_size_after ?? null,
      delta: m.table_size_delta,
    };
  }
  return { before: m.size_before, after: m.size_after, delta: m.size_delta };
}

/** `, indexes +1.3 MB, total 52.1 MB` for a table whose indexes changed; '' otherwise. */
export function indexesAndTotal(kind: 'table' | 'index', m: RelationMetrics): string {
  if (kind !== 'table' || !m.indexes_size_delta) return '';
  const total = m.size_after ?? m.size_before ?? 0;
  return `, indexes ${formatSignedBytes(m.indexes_size_delta)}, total ${formatBytes(total)}`;
}
