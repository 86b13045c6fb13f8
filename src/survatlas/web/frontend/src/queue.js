// Offline queue of camera reports (IndexedDB): reports made without a connection wait on this
// device and are sent when it returns. Photos wait as they were taken (they are stripped and
// blurred by the server), so "Delete waiting reports" is offered to the user.
const DB_NAME = "survatlas-reports";
const STORE = "queue";

function open() {
  return new Promise((resolve, reject) => {
    const request = indexedDB.open(DB_NAME, 1);
    request.onupgradeneeded = () => request.result.createObjectStore(STORE, { keyPath: "key", autoIncrement: true });
    request.onsuccess = () => resolve(request.result);
    request.onerror = () => reject(request.error);
  });
}

async function run(mode, action) {
  const db = await open();
  try {
    return await new Promise((resolve, reject) => {
      const tx = db.transaction(STORE, mode);
      const request = action(tx.objectStore(STORE));
      tx.oncomplete = () => resolve(request && request.result);
      tx.onerror = () => reject(tx.error);
      tx.onabort = () => reject(tx.error || new Error("the local queue refused the report"));
    });
  } finally {
    db.close();
  }
}

export class ReportQueue {
  // fields: {name: text}; photos: [Blob]. Returns the queue key.
  add(fields, photos) {
    return run("readwrite", (store) => store.add({ fields, photos, queuedAt: new Date().toISOString(), error: null }));
  }

  all() {
    return run("readonly", (store) => store.getAll());
  }

  async count() {
    return (await run("readonly", (store) => store.count())) || 0;
  }

  remove(key) {
    return run("readwrite", (store) => store.delete(key));
  }

  update(item) {
    return run("readwrite", (store) => store.put(item));
  }

  clear() {
    return run("readwrite", (store) => store.clear());
  }
}

// The form data sent for one report. Photos get a neutral name: a phone's file name
// (IMG_20261130_174501.jpg) tells when it was taken.
export function formData(fields, photos) {
  const data = new FormData();
  for (const [name, value] of Object.entries(fields)) {
    if (value !== undefined && value !== null && String(value).trim() !== "") data.append(name, String(value));
  }
  photos.forEach((photo, n) => data.append("photo", photo, `photo-${n + 1}`));
  return data;
}

// POST one report. Resolves {ok, id} or {ok: false, retry, status, message}; retry is true when
// the report should wait (no connection, server busy, token needed), false when it is refused.
export async function sendReport(fields, photos, token) {
  const headers = { Accept: "application/json" };
  if (token) headers.Authorization = `Bearer ${token}`;
  let response;
  try {
    response = await fetch("/api/contributions", { method: "POST", body: formData(fields, photos), headers, credentials: "same-origin" });
  } catch (error) {
    return { ok: false, retry: true, status: 0, message: "no connection" };
  }
  let body = null;
  try {
    body = await response.json();
  } catch {
    body = null;
  }
  if (response.ok) return { ok: true, id: body && body.id };
  const detail = body && typeof body.detail === "string" ? body.detail : response.statusText;
  const retry = response.status >= 500 || [401, 403, 408, 429].includes(response.status);
  return { ok: false, retry, status: response.status, message: detail };
}
