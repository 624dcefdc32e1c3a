//! The rank's index from a source neuron (global id) to the rows of synapses it has on this
//! rank: for each source, one entry per synapse table (projection × shard) holding any of its
//! synapses, saying where its row starts and how long it is.
//!
//! One index serves every table of the rank, so a spike is looked up once, whatever the
//! number of blocks, shards or projections, and a table pays nothing for sources without
//! synapses in it. Sources are grouped in ranges (one per pre-synaptic population); a range
//! where at least half the neurons have rows here is indexed densely (an array over the
//! population, 4 bytes per neuron), a sparser one by its sorted list of sources (8 bytes per
//! listed source, found by binary search). Either way the index costs at most 8 bytes per
//! source with synapses here, plus 12 per row: it grows with the rank's synapses, never with
//! the network.

use crate::engine::synapses::{prefetch, Rows};

/// A source's synapses in one table: `start..start + len`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Row {
    pub table: u32,
    pub start: u32,
    pub len: u32,
}

#[derive(Clone, Debug)]
enum Lookup {
    /// Rows of source `first_gid + i` are `first_row[i]..first_row[i + 1]`.
    Dense(Vec<u32>),
    /// Sources with rows (ids in the range, ascending) and where their rows start (one more
    /// entry than `ids`).
    Sparse { ids: Vec<u32>, first_row: Vec<u32> },
}

#[derive(Clone, Debug)]
struct SourceRange {
    first_gid: u32,
    n: u32,
    lookup: Lookup,
}

/// One table's rows, as the index is built from them.
pub struct TableRows<'a> {
    pub table: u32,
    pub pre_first_gid: u32,
    pub pre_n: u32,
    pub rows: &'a Rows,
}

#[derive(Clone, Debug, Default)]
pub struct SourceIndex {
    /// Sorted by `first_gid`, disjoint.
    ranges: Vec<SourceRange>,
    rows: Vec<Row>,
    n_sources: usize,
}

impl SourceIndex {
    /// Builds the index of `tables`. Each source's rows are listed in the order of `tables`,
    /// which is the order delivery adds them in.
    pub fn build(tables: &[TableRows]) -> Self {
        let mut starts: Vec<(u32, u32)> = tables.iter().map(|t| (t.pre_first_gid, t.pre_n)).collect();
        starts.sort_unstable();
        starts.dedup();
        let mut index = SourceIndex::default();
        index.rows.reserve_exact(tables.iter().map(|t| t.rows.len()).sum());
        for (first_gid, n) in starts {
            let members: Vec<&TableRows> = tables.iter().filter(|t| t.pre_first_gid == first_gid).collect();
            index.add_range(first_gid, n, &members);
        }
        index
    }

    fn add_range(&mut self, first_gid: u32, n: u32, tables: &[&TableRows]) {
        // Rows per source, then each source's first row; `cursor` then walks them.
        let mut cursor = vec![0u32; n as usize + 1];
        for table in tables {
            for &source in &table.rows.sources {
                cursor[source as usize + 1] += 1;
            }
        }
        let present = cursor.iter().filter(|&&c| c > 0).count();
        let base = self.rows.len() as u32;
        cursor[0] = base;
        for i in 0..n as usize {
            cursor[i + 1] += cursor[i];
        }
        let total = (cursor[n as usize] - base) as usize;
        self.rows.reserve_exact(total);
        self.rows.resize(self.rows.len() + total, Row { table: 0, start: 0, len: 0 });
        let mut next = cursor.clone();
        for table in tables {
            for (r, &source) in table.rows.sources.iter().enumerate() {
                let range = table.rows.range(r);
                let slot = &mut next[source as usize];
                self.rows[*slot as usize] =
                    Row { table: table.table, start: range.start as u32, len: (range.end - range.start) as u32 };
                *slot += 1;
            }
        }
        self.n_sources += present;
        let lookup = if 2 * present >= n as usize {
            Lookup::Dense(cursor)
        } else {
            let mut ids = Vec::with_capacity(present);
            let mut first_row = Vec::with_capacity(present + 1);
            for i in 0..n as usize {
                if cursor[i + 1] > cursor[i] {
                    ids.push(i as u32);
                    first_row.push(cursor[i]);
                }
            }
            first_row.push(cursor[n as usize]);
            Lookup::Sparse { ids, first_row }
        };
        self.ranges.push(SourceRange { first_gid, n, lookup });
    }

    /// Where the rows of `gid` lie in `rows` (empty if it has none here).
    #[inline]
    fn span(&self, gid: u32) -> (usize, usize) {
        let after = self.ranges.partition_point(|r| r.first_gid <= gid);
        let Some(range) = after.checked_sub(1).map(|k| &self.ranges[k]) else {
            return (0, 0);
        };
        let i = gid - range.first_gid;
        if i >= range.n {
            return (0, 0);
        }
        match &range.lookup {
            Lookup::Dense(first_row) => (first_row[i as usize] as usize, first_row[i as usize + 1] as usize),
            Lookup::Sparse { ids, first_row } => match ids.binary_search(&i) {
                Ok(k) => (first_row[k] as usize, first_row[k + 1] as usize),
                Err(_) => (0, 0),
            },
        }
    }

    /// The rows of source `gid` on this rank, in delivery order.
    #[inline]
    pub fn rows_of(&self, gid: u32) -> &[Row] {
        let (start, stop) = self.span(gid);
        &self.rows[start..stop]
    }

    /// Asks the CPU to start loading the index entry of `gid` (dense ranges only).
    #[inline]
    pub fn prefetch(&self, gid: u32) {
        let after = self.ranges.partition_point(|r| r.first_gid <= gid);
        if let Some(range) = after.checked_sub(1).map(|k| &self.ranges[k]) {
            if let Lookup::Dense(first_row) = &range.lookup {
                if let Some(entry) = first_row.get((gid - range.first_gid) as usize) {
                    prefetch(entry);
                }
            }
        }
    }

    /// The global ids of the sources with rows on this rank, ascending.
    pub fn sources(&self) -> Vec<u32> {
        let mut gids = Vec::with_capacity(self.n_sources);
        for range in &self.ranges {
            match &range.lookup {
                Lookup::Dense(first_row) => gids.extend(
                    first_row
                        .windows(2)
                        .enumerate()
                        .filter(|(_, w)| w[1] > w[0])
                        .map(|(i, _)| range.first_gid + i as u32),
                ),
                Lookup::Sparse { ids, .. } => gids.extend(ids.iter().map(|&i| range.first_gid + i)),
            }
        }
        gids
    }

    /// Sources with at least one row on this rank.
    pub fn n_sources(&self) -> usize {
        self.n_sources
    }

    /// Bytes held by the index.
    pub fn bytes(&self) -> usize {
        let lookups: usize = self
            .ranges
            .iter()
            .map(|r| match &r.lookup {
                Lookup::Dense(first_row) => first_row.capacity() * 4,
                Lookup::Sparse { ids, first_row } => (ids.capacity() + first_row.capacity()) * 4,
            })
            .sum();
        lookups + self.rows.capacity() * std::mem::size_of::<Row>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn rows(sources: &[u32], lengths: &[u32]) -> Rows {
        let mut starts = vec![0];
        for &len in lengths {
            starts.push(starts.last().unwrap() + len);
        }
        Rows { sources: sources.to_vec(), starts }
    }

    #[test]
    fn rows_come_back_per_source_in_table_order() {
        // Pre population at gids 100..110 (dense: 6 of 10 sources), another at 1000..2000
        // (sparse: 2 of 1000).
        let a = rows(&[0, 2, 3, 4, 7, 9], &[1, 2, 3, 4, 5, 6]);
        let b = rows(&[2, 9], &[7, 8]);
        let c = rows(&[5, 999], &[1, 1]);
        let tables = [
            TableRows { table: 4, pre_first_gid: 100, pre_n: 10, rows: &a },
            TableRows { table: 5, pre_first_gid: 1000, pre_n: 1000, rows: &c },
            TableRows { table: 6, pre_first_gid: 100, pre_n: 10, rows: &b },
        ];
        let index = SourceIndex::build(&tables);
        assert_eq!(index.rows_of(102), &[Row { table: 4, start: 1, len: 2 }, Row { table: 6, start: 0, len: 7 }]);
        assert_eq!(index.rows_of(109), &[Row { table: 4, start: 15, len: 6 }, Row { table: 6, start: 7, len: 8 }]);
        assert_eq!(index.rows_of(1999), &[Row { table: 5, start: 1, len: 1 }]);
        for gid in [0, 99, 101, 110, 999, 1000, 1998, 2000, u32::MAX] {
            assert!(index.rows_of(gid).is_empty(), "gid {gid}");
        }
        assert_eq!(index.n_sources(), 8);
        assert_eq!(index.sources(), vec![100, 102, 103, 104, 107, 109, 1005, 1999]);
        assert!(matches!(index.ranges[0].lookup, Lookup::Dense(_)));
        assert!(matches!(index.ranges[1].lookup, Lookup::Sparse { .. }));
    }
}
