// A full session of Epsilla's JavaScript client (epsillajs) against Quiver.
// Usage: node session.js HOST PORT. Exits 1 at the first unexpected answer.
// epsillajs returns the error body ({statusCode, message}) instead of throwing,
// so every answer is checked.
'use strict';

const { EpsillaDB } = require('epsillajs');

const [host, port] = process.argv.slice(2);
if (!host || !port) {
  console.error('usage: node session.js HOST PORT');
  process.exit(2);
}

const DB = 'EpsillaJsDB';
const TABLE = 'Cities';
const RECORDS = [
  { ID: 1, Doc: 'Berlin', Embedding: [0.05, 0.61, 0.76, 0.74] },
  { ID: 2, Doc: 'London', Embedding: [0.19, 0.81, 0.75, 0.11] },
  { ID: 3, Doc: 'Moscow', Embedding: [0.36, 0.55, 0.47, 0.94] },
  { ID: 4, Doc: 'San Francisco', Embedding: [0.18, 0.01, 0.85, 0.80] },
  { ID: 5, Doc: 'Shanghai', Embedding: [0.24, 0.18, 0.22, 0.44] },
];
const QUERY = [0.35, 0.55, 0.47, 0.94];

function fail(step, expected, got) {
  console.error(`FAIL ${step}\n  expected: ${expected}\n  got:      ${JSON.stringify(got)}`);
  process.exit(1);
}

// Checks the status of an answer and returns it.
function ok(step, res, status = 200) {
  if (!res || res instanceof Error || res.statusCode !== status) {
    fail(step, `statusCode ${status}`,
      res === undefined ? 'no HTTP response' : res instanceof Error ? String(res) : res);
  }
  console.log(`ok   ${step}`);
  return res;
}

function same(step, got, expected) {
  if (JSON.stringify(got) !== JSON.stringify(expected)) {
    fail(step, JSON.stringify(expected), got);
  }
}

function cosineDistance(a, b) {
  const dot = a.reduce((s, x, i) => s + x * b[i], 0);
  const norm = (v) => Math.sqrt(v.reduce((s, x) => s + x * x, 0));
  return 1 - dot / (norm(a) * norm(b));
}

// The records nearest to QUERY first, with their exact cosine distances.
const RANKED = RECORDS.map((r) => ({ ID: r.ID, d: cosineDistance(r.Embedding, QUERY) }))
  .sort((x, y) => x.d - y.d);

function checkNearest(step, result, expected) {
  same(`${step}: ids`, result.map((r) => r.ID), expected.map((r) => r.ID));
  result.forEach((r, i) => {
    if (typeof r['@distance'] !== 'number' || Math.abs(r['@distance'] - expected[i].d) > 1e-4) {
      fail(`${step}: @distance of ID ${r.ID}`, expected[i].d.toFixed(6), r);
    }
    if (i > 0 && r['@distance'] < result[i - 1]['@distance']) {
      fail(`${step}: distances ascending`, 'nearest first', result);
    }
  });
}

async function main() {
  const db = new EpsillaDB({ protocol: 'http', host, port: Number(port) });

  ok('loadDB', await db.loadDB('/tmp/epsillajs', DB));
  db.useDB(DB);

  const fields = [
    { name: 'ID', dataType: 'INT', primaryKey: true },
    { name: 'Doc', dataType: 'STRING' },
    { name: 'Embedding', dataType: 'VECTOR_FLOAT', dimensions: 4, metricType: 'COSINE' },
  ];
  ok('createTable', await db.createTable(TABLE, fields));
  ok('createTable again is a conflict', await db.createTable(TABLE, fields), 409);
  ok('createTable Keep', await db.createTable('Keep', fields.slice(0, 2).concat(
    [{ name: 'Embedding', dataType: 'VECTOR_FLOAT', dimensions: 4 }])));
  same('listTables', ok('listTables', await db.listTables()).result, [TABLE, 'Keep']);

  same('insert', ok('insert', await db.insert(TABLE, RECORDS)).result,
    { inserted: 5, skipped: 0, lsn: { 0: 1 } });
  ok('insert Keep', await db.insert('Keep', [RECORDS[0]]));

  let res = ok('query all', await db.query(TABLE, {
    queryField: 'Embedding', queryVector: QUERY, limit: 5, withDistance: true,
  }));
  checkNearest('query all', res.result, RANKED);
  same('query all: fields', Object.keys(res.result[0]).sort(),
    ['@distance', 'Doc', 'Embedding', 'ID']);

  res = ok('query with filter', await db.query(TABLE, {
    queryField: 'Embedding', queryVector: QUERY, limit: 2, response: ['ID', 'Doc'],
    filter: "Doc <> 'Moscow'", withDistance: true,
  }));
  checkNearest('query with filter', res.result, RANKED.filter((r) => r.ID !== 3).slice(0, 2));
  same('query with filter: fields', Object.keys(res.result[0]).sort(), ['@distance', 'Doc', 'ID']);

  res = ok('query without distance', await db.query(TABLE, {
    queryField: 'Embedding', queryVector: QUERY, limit: 1, response: ['Doc'],
    withDistance: false,
  }));
  same('query without distance', res.result, [{ Doc: 'Moscow' }]);

  res = ok('get by keys', await db.get(TABLE, {
    response: ['ID', 'Doc'], primaryKeys: [4, 2, 1], filter: 'ID > 1', limit: 10, skip: 0,
  }));
  same('get by keys', res.result, [{ ID: 4, Doc: 'San Francisco' }, { ID: 2, Doc: 'London' }]);
  res = ok('get page', await db.get(TABLE, {
    response: ['ID'], filter: 'ID >= 2', skip: 1, limit: 2,
  }));
  same('get page', res.result, [{ ID: 3 }, { ID: 4 }]);
  res = ok('get all', await db.get(TABLE));
  same('get all', res.result, RECORDS);

  same('deleteByPrimaryKeys', ok('deleteByPrimaryKeys',
    await db.deleteByPrimaryKeys(TABLE, [1, 42])).result, { deleted: 1, lsn: { 0: 2 } });
  same('delete by filter', ok('delete by filter',
    await db.delete(TABLE, { filter: "Doc = 'London'" })).result, { deleted: 1, lsn: { 0: 3 } });
  res = ok('get after deletes', await db.get(TABLE, { response: ['ID'] }));
  same('get after deletes', res.result, [{ ID: 3 }, { ID: 4 }, { ID: 5 }]);
  res = ok('get deleted keys', await db.get(TABLE, { response: ['ID'], primaryKeys: [1, 2, 3] }));
  same('get deleted keys', res.result, [{ ID: 3 }]);
  res = ok('query after deletes', await db.query(TABLE, {
    queryField: 'Embedding', queryVector: QUERY, limit: 5, response: ['ID'], withDistance: true,
  }));
  checkNearest('query after deletes', res.result, RANKED.filter((r) => r.ID > 2));

  ok('dropTable', await db.dropTable(TABLE));
  ok('dropTable again is not found', await db.dropTable(TABLE), 404);
  same('listTables after drop', ok('listTables after drop', await db.listTables()).result,
    ['Keep']);

  ok('unloadDB', await db.unloadDB(DB));
  ok('listTables of unloaded db is not found', await db.listTables(), 404);
  ok('loadDB again', await db.loadDB('/tmp/epsillajs', DB, 150000, true));
  same('listTables after reload', ok('listTables after reload', await db.listTables()).result,
    ['Keep']);
  res = ok('get after reload', await db.get('Keep'));
  same('get after reload', res.result, [RECORDS[0]]);

  ok('dropDB', await db.dropDB(DB));
  ok('listTables of dropped db is not found', await db.listTables(), 404);
  ok('dropDB again is not found', await db.dropDB(DB), 404);

  console.log('epsillajs session passed');
}

main().catch((err) => {
  console.error('FAIL unexpected exception:', err);
  process.exit(1);
});
