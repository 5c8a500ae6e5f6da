/**
 * The files of a drop, folders included: a dropped folder comes as a directory entry (webkitGetAsEntry), read
 * here recursively. Each file keeps its path inside what was dropped ("day/Wafer_….csv"), the name it is
 * reported and downloaded under.
 */

export interface DroppedFiles {
  files: File[];
  paths: string[];
  /** A folder was among the dropped items (then even one file inside it is a batch of one). */
  hadFolder: boolean;
}

function readAllEntries(reader: FileSystemDirectoryReader): Promise<FileSystemEntry[]> {
  // readEntries answers at most ~100 entries per call: call until it answers none.
  return new Promise((resolve, reject) => {
    const all: FileSystemEntry[] = [];
    const next = () =>
      reader.readEntries((batch) => {
        if (batch.length === 0) resolve(all);
        else {
          all.push(...batch);
          next();
        }
      }, reject);
    next();
  });
}

function fileOf(entry: FileSystemFileEntry): Promise<File> {
  return new Promise((resolve, reject) => entry.file(resolve, reject));
}

async function collect(entry: FileSystemEntry, out: DroppedFiles): Promise<void> {
  if (entry.isFile) {
    out.files.push(await fileOf(entry as FileSystemFileEntry));
    out.paths.push(entry.fullPath.replace(/^\//, ''));
  } else if (entry.isDirectory) {
    out.hadFolder = true;
    for (const child of await readAllEntries((entry as FileSystemDirectoryEntry).createReader())) await collect(child, out);
  }
}

/**
 * Take the entries synchronously (the DataTransfer is emptied once the drop handler returns), then read them.
 * Without entry support, the plain file list.
 */
export function droppedFiles(transfer: DataTransfer): Promise<DroppedFiles> {
  const entries = Array.from(transfer.items)
    .filter((item) => item.kind === 'file')
    .map((item) => item.webkitGetAsEntry?.() ?? null);
  const plain = Array.from(transfer.files);
  if (entries.length === 0 || entries.some((e) => e === null) || !entries.some((e) => e?.isDirectory)) {
    return Promise.resolve({ files: plain, paths: plain.map((f) => f.name), hadFolder: false });
  }
  return (async () => {
    const out: DroppedFiles = { files: [], paths: [], hadFolder: false };
    for (const entry of entries) if (entry) await collect(entry, out);
    return out;
  })();
}
