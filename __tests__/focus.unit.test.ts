import { describe, expect, it } from '@jest/globals';
import {
  closeOverReferences,
  excludeDataArgs,
  tablesAlsoNeeded,
  tablesOf,
  type SourceTables,
} from '../src/engine/snapshot/focus.js';

/** A source graph: lines -> orders -> customers -> regions, events partitioned, notes alone. */
function source(): SourceTables {
  const table = (schema: string, name: string) => ({ schema, name, bytes: 1000 });
  return {
    tables: new Map([
      ['lines', table('public', 'lines')],
      ['orders', table('public', 'orders')],
      ['customers', table('public', 'customers')],
      ['regions', table('public', 'regions')],
      ['events', table('public', 'events')],
      ['events_2026', table('public', 'events_2026')],
      ['notes', table('public', 'notes')],
      ['billing.Invoices', table('billing', 'Invoices')],
    ]),
    indexTable: new Map([['orders_pkey', 'orders']]),
    references: new Map([
      ['lines', ['orders']],
      ['orders', ['customers']],
      ['customers', ['regions']],
      ['events', ['customers']],
      ['billing.Invoices', ['orders']],
    ]),
    children: new Map([['events', ['events_2026']]]),
    catalog: { databaseBytes: 8000, relations: [] },
  };
}

describe('focused snapshot table selection', () => {
  it('closes over foreign keys transitively, and a partitioned table brings its partitions with its reason', () => {
    expect(closeOverReferences(source(), { lines: 'touched', events: 'touched' })).toEqual({
      tables: ['customers', 'events', 'events_2026', 'lines', 'orders', 'regions'],
      reasons: {
        lines: 'touched',
        events: 'touched',
        events_2026: 'touched',
        orders: 'referenced',
        customers: 'referenced',
        regions: 'referenced',
      },
    });
  });

  it('maps locked relations to tables: an index to its table, anything else unknown to none', () => {
    expect(tablesOf(['orders_pkey', 'notes', 'orders_id_seq', 'new_table'], source()).sort()).toEqual([
      'notes',
      'orders',
    ]);
  });

  it('excludes the data of every other table, with exact quoted patterns', () => {
    const args = excludeDataArgs(source(), [
      'lines',
      'orders',
      'customers',
      'regions',
      'events',
      'events_2026',
    ]);
    expect(args).toEqual([
      '--exclude-table-data',
      '"public"."notes"',
      '--exclude-table-data',
      '"billing"."Invoices"',
    ]);
  });

  it('reads --tables patterns as pg_dump does and names the referenced tables they leave out', () => {
    const referenced = (patterns: string[]) => tablesAlsoNeeded(source(), patterns).referenced;
    expect(referenced(['lin*'])).toEqual(['customers', 'orders', 'regions']);
    expect(referenced(['orders', 'customers', 'regions'])).toEqual([]);
    // Unquoted names fold to lower case; quoted ones are literal.
    expect(referenced(['billing.invoices'])).toEqual([]);
    expect(referenced(['billing."Invoices"'])).toEqual(['customers', 'orders', 'regions']);
    expect(referenced(['"lin*"'])).toEqual([]);
    // Outside quotes, regular-expression notation works as in pg_dump; $ is literal.
    expect(referenced(['(lines|notes)'])).toEqual(['customers', 'orders', 'regions']);
    expect(referenced(['[lr]egions'])).toEqual([]);
    expect(tablesAlsoNeeded(source(), ['[lr]egions']).partitions).toEqual([]);
    expect(referenced(['lines$'])).toEqual([]);
  });

  it('adds the partitions of a partitioned table named, which pg_dump leaves out, apart from the referenced tables', () => {
    expect(tablesAlsoNeeded(source(), ['events'])).toEqual({
      partitions: ['events_2026'],
      referenced: ['customers', 'regions'],
    });
    expect(tablesAlsoNeeded(source(), ['events*']).partitions).toEqual([]);
  });

  it('says which pattern is not valid instead of failing on a regular expression', () => {
    expect(() => tablesAlsoNeeded(source(), ['orders(', 'lines'])).toThrow(
      /tables: "orders\(" is not a valid pattern .*put them in double quotes/,
    );
  });
});
