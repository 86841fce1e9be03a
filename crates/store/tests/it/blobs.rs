use crate::support::open_store;
use sha2::{Digest, Sha256};

#[tokio::test]
async fn a_blob_is_stored_under_blobs_by_its_sha256_and_read_back() {
    let (dir, store) = open_store().await;
    let bytes = b"\x89PNG\r\n\x1a\n not really an image, but bytes are bytes".to_vec();
    let sha = hex::encode(Sha256::digest(&bytes));

    let key = store.blobs().put(&bytes).unwrap();
    assert_eq!(key.as_str(), sha);
    assert!(store.blobs().contains(&key));
    assert_eq!(store.blobs().get(&key).unwrap(), bytes);

    // On disk: blobs/<first two hex digits>/<sha256>, holding exactly the bytes.
    let path = dir.path().join("blobs").join(&sha[..2]).join(&sha);
    assert_eq!(store.blobs().path(&key), path);
    assert_eq!(std::fs::read(&path).unwrap(), bytes);

    // Storing the same bytes again changes nothing and leaves no temp file behind.
    assert_eq!(store.blobs().put(&bytes).unwrap(), key);
    let files: Vec<_> = walk(&dir.path().join("blobs"));
    assert_eq!(files, vec![path], "exactly one file in the blob store");
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(walk(&path));
        } else {
            out.push(path);
        }
    }
    out
}
