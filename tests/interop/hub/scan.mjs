// Prints what the hub's own JavaScript client sees in a hub cache: node scan.mjs <cacheDir>
// (times as milliseconds since the epoch, as the client reads them from stat)
import { scanCacheDir } from "@huggingface/hub";

const [cacheDir] = process.argv.slice(2);
if (!cacheDir) {
  console.error("usage: node scan.mjs <cacheDir>");
  process.exit(2);
}

const result = await scanCacheDir(cacheDir);
const report = {
  size: result.size,
  warnings: result.warnings.map((w) => String(w?.message ?? w)),
  repos: result.repos.map((repo) => ({
    id: repo.id,
    path: repo.path,
    size: repo.size,
    filesCount: repo.filesCount,
    lastAccessedAt: repo.lastAccessedAt.getTime(),
    lastModifiedAt: repo.lastModifiedAt.getTime(),
    revisions: repo.revisions.map((revision) => ({
      commitOid: revision.commitOid,
      refs: revision.refs,
      size: revision.size,
      lastModifiedAt: revision.lastModifiedAt.getTime(),
      files: revision.files.map((file) => ({ path: file.path, blobPath: file.blob.path, size: file.blob.size })),
    })),
  })),
};
process.stdout.write(JSON.stringify(report) + "\n");
