//! Writes every line of a JSON Lines file into sled under its line number (`apply_batch` of
//! 1,000 + `flush`, like the raw sled peer of `bench_large`), without and with sled's zstd
//! compression, then scans it back; prints the time of each and the bytes on disk against
//! the file's.

use std::io::BufRead;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error>;

fn dir_bytes(path: &Path) -> std::io::Result<u64> {
    let mut total = 0;
    for entry in std::fs::read_dir(path)? {
        let entry = entry?;
        let meta = entry.metadata()?;
        total += if meta.is_dir() {
            dir_bytes(&entry.path())?
        } else {
            meta.len()
        };
    }
    Ok(total)
}

fn run(
    file: &Path,
    dir: &Path,
    compression: Option<i32>,
) -> Result<(Duration, Duration, u64, u64), Error> {
    let _ = std::fs::remove_dir_all(dir);
    let config = || {
        sled::Config::new()
            .path(dir)
            .use_compression(compression.is_some())
            .compression_factor(compression.unwrap_or(1))
    };
    let db = config().open()?;
    let tree = db.open_tree("log")?;
    let (mut raw, mut n, mut batch) = (0u64, 0u64, sled::Batch::default());
    let started = Instant::now();
    for line in std::io::BufReader::new(std::fs::File::open(file)?).lines() {
        let line = line?;
        raw += line.len() as u64 + 1;
        n += 1;
        batch.insert(&n.to_be_bytes()[..], line.as_bytes());
        if n % 1000 == 0 {
            tree.apply_batch(std::mem::take(&mut batch))?;
            db.flush()?;
        }
    }
    tree.apply_batch(batch)?;
    db.flush()?;
    let write = started.elapsed();
    drop((tree, db));
    std::thread::sleep(Duration::from_millis(500));
    let db = config().open()?;
    let tree = db.open_tree("log")?;
    let started = Instant::now();
    let mut bytes = 0;
    for entry in tree.iter() {
        bytes += entry?.1.len();
    }
    let scan = started.elapsed();
    assert_eq!(bytes as u64 + n, raw, "every line read back");
    drop((tree, db));
    std::thread::sleep(Duration::from_millis(500));
    Ok((write, scan, dir_bytes(dir)?, raw))
}

fn main() -> Result<(), Error> {
    let file = PathBuf::from(
        std::env::args()
            .nth(1)
            .ok_or("usage: sled-compression-probe FILE.jsonl")?,
    );
    // Beside the file, on the project's disk: a `tmpfs` would make every flush free.
    let dir = file.with_extension("sled-compression-probe");
    println!("| sled | write | scan | disk / JSON |\n|---|---|---|---|");
    for compression in [None, Some(3), Some(10)] {
        let (write, scan, disk, raw) = run(&file, &dir, compression)?;
        let name = compression.map_or("no compression".to_owned(), |f| format!("zstd, factor {f}"));
        println!(
            "| {name} | {:.2} s | {:.0} ms | {:.2}× |",
            write.as_secs_f64(),
            scan.as_secs_f64() * 1e3,
            disk as f64 / raw as f64
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
