// Invariant: columns are as wide as their widest cell, two spaces apart, with no trailing blanks;
// null prints as "-"; a row with the wrong number of cells is refused.
import t from 'tap'
import { formatTable } from '../../../../scripts/bench/lib/text-table.js'

t.test('layout', async t => {
  const got = formatTable(
    ['stage', 'n', 'mean ms'],
    [
      ['prepare RPC', 30, 12.5],
      ['CNI ADD', 1000, null],
    ],
  )
  t.equal(
    got,
    [
      'stage        n     mean ms',
      '-----------  ----  -------',
      'prepare RPC  30    12.5',
      'CNI ADD      1000  -',
    ].join('\n'),
  )
})

t.test('header only', async t => {
  t.equal(formatTable(['a', 'bb'], []), 'a  bb\n-  --')
})

t.test('ragged rows are refused', async t => {
  t.throws(() => formatTable(['a', 'b'], [['x']]), /row 0 has 1 cells, the header 2/)
})
