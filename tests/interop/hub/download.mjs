// Downloads one file into a hub cache with the hub's own JavaScript client:
// node download.mjs <hubUrl> <repo> <path> <cacheDir> [revision]
import { downloadFileToCacheDir } from "@huggingface/hub";

const [hubUrl, repo, path, cacheDir, revision] = process.argv.slice(2);
if (!hubUrl || !repo || !path || !cacheDir) {
  console.error("usage: node download.mjs <hubUrl> <repo> <path> <cacheDir> [revision]");
  process.exit(2);
}

// The client logs its progress with console.debug/info; keep stdout for the result alone.
console.debug = () => {};
console.info = () => {};
const pointer = await downloadFileToCacheDir({ hubUrl, repo, path, cacheDir, ...(revision ? { revision } : {}) });
process.stdout.write(JSON.stringify({ path: pointer }) + "\n");
