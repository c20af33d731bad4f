// The explorer page: a face from the prior, a photo or a link; attribute sliders acting on its latent;
// faces from A to B; the state in the address. Decoding runs here (decoder.js); the server only
// encodes photos and draws prior samples (facenet_vae/explore/server.py).
import { Renderer, loadDecoder } from "./decoder.js";
import { canvasPng, save } from "./downloads.js";
import { PathPanel } from "./interpolation.js";
import { latentFromText, latentToText } from "./latent.js";

const $ = (id) => document.getElementById(id);
const SLIDER_RANGE = 3;
const URL_DELAY_MS = 250;

const state = {
  model: null,       // /api/model
  decoder: null,
  base: null,        // Float32Array: the face before the sliders
  sliders: [],       // one amount per attribute
  origin: "",        // where the base came from, in words
  seed: null,        // the seed of a prior draw, else null
};
let face = null;     // Renderer of the current face
let path = null;     // PathPanel: from A to B
let urlTimer = null;
let sampleRequest = 0;

function showMessage(text, kind = "error") {
  const message = $("message");
  message.textContent = text || "";
  message.className = kind;
  message.hidden = !text;
}

function currentLatent() {
  if (!state.base) return null;
  const latent = Float64Array.from(state.base);
  state.model.attributes.forEach((attribute, k) => {
    const amount = state.sliders[k];
    if (amount && attribute.vector) attribute.vector.forEach((v, i) => { latent[i] += amount * v; });
  });
  return Float32Array.from(latent);
}

// -- the address -----------------------------------------------------------------------------------

function writeUrl() {
  clearTimeout(urlTimer);
  urlTimer = null;
  if (!state.base) return;
  const params = new URLSearchParams();
  params.set("z", latentToText(state.base));
  const edits = state.model.attributes.map((a, k) => [a.name, state.sliders[k]]).filter(([, v]) => v);
  if (edits.length) params.set("edit", edits.map(([name, v]) => `${name}:${v}`).join(","));
  if (state.seed !== null) params.set("seed", state.seed);
  params.set("temperature", $("temperature").value);
  if (path.a) params.set("a", latentToText(path.a));
  if (path.b) params.set("b", latentToText(path.b));
  if (path.ready()) params.set("path", path.path());
  history.replaceState(null, "", `#${params}`);
}

function scheduleUrl() {
  if (urlTimer === null) urlTimer = setTimeout(writeUrl, URL_DELAY_MS);
}

// Restores the state a link holds; returns false (with a message) when it holds no usable face.
function readUrl() {
  const params = new URLSearchParams(location.hash.slice(1));
  if (!params.get("z")) return false;
  const size = state.model.latent_var_size;
  try {
    const base = latentFromText(params.get("z"), size);
    const sliders = state.model.attributes.map(() => 0);
    for (const edit of (params.get("edit") || "").split(",").filter(Boolean)) {
      const [name, value] = edit.split(":");
      const k = state.model.attributes.findIndex((a) => a.name === name);
      if (k < 0 || value === undefined || !Number.isFinite(Number(value))) {
        throw new Error(`the link's edit "${edit}" is not <attribute of this model>:<number>`);
      }
      sliders[k] = Math.max(-SLIDER_RANGE, Math.min(SLIDER_RANGE, Number(value)));
    }
    const a = params.get("a") ? latentFromText(params.get("a"), size) : null;
    const b = params.get("b") ? latentFromText(params.get("b"), size) : null;
    if (params.get("temperature")) {
      $("temperature").value = params.get("temperature");
      $("temperature-value").textContent = Number($("temperature").value).toFixed(2);
    }
    const seed = params.get("seed");
    setBase(base, seed !== null ? `seed ${seed}` : "the face in the link", seed !== null ? Number(seed) : null);
    state.sliders = sliders;
    syncSliders();
    face.request();
    path.setEnds(a, b, ["linear", "spherical"].includes(params.get("path")) ? params.get("path") : null);
    return true;
  } catch (error) {
    showMessage(`${error.message}: showing a random face instead.`);
    return false;
  }
}

// -- the current face ------------------------------------------------------------------------------

function setBase(latent, origin, seed = null) {
  state.base = latent;
  state.origin = origin;
  state.seed = seed;
  if (seed !== null) $("seed").value = seed;
  state.sliders = state.model.attributes.map(() => 0);
  syncSliders();
  $("face-info").textContent = `Face: ${origin}.`;
  face.request();
}

async function sample(seed, keepMessage = false) {
  const temperature = Number($("temperature").value);
  const request = ++sampleRequest;
  let response;
  let answer;
  try {
    response = await fetch(`api/sample?seed=${seed}&temperature=${temperature}`);
    answer = await response.json();
  } catch (error) {
    showMessage(`the server did not answer (${error.message}); is it still running?`);
    return;
  }
  if (request !== sampleRequest) return;
  if (!response.ok) {
    showMessage(answer.error);
    return;
  }
  if (!keepMessage) showMessage("");
  setBase(latentFromText(answer.z, state.model.latent_var_size),
    `seed ${seed}, temperature ${temperature.toFixed(2)} (the first face of generate.py --mode=sample --seed=${seed}` +
    `${temperature !== 1 ? ` --temperature=${temperature}` : ""})`, seed);
}

async function upload(file) {
  if (file.size > state.model.max_upload_bytes) {
    showMessage(`${file.name}: ${(file.size / 2 ** 20).toFixed(1)} MB is over the ` +
      `${state.model.max_upload_bytes / 2 ** 20} MB limit for a photo.`);
    return;
  }
  showMessage(`Encoding ${file.name}…`, "info");
  let response;
  try {
    response = await fetch("api/encode", {
      method: "POST", body: file, headers: { "Content-Type": "application/octet-stream", "X-Filename": encodeURIComponent(file.name) },
    });
  } catch (error) {
    showMessage(`${file.name}: the server did not answer (${error.message}).`);
    return;
  }
  const answer = await response.json().catch(() => ({ error: `${file.name}: the server answered ${response.status}` }));
  if (!response.ok) {
    showMessage(answer.error);
    return;
  }
  showMessage("");
  $("crop").src = answer.crop;
  $("crop-caption").textContent = `The model's view of ${file.name} (${answer.width}x${answer.height}): ${answer.framing}.`;
  $("crop-figure").hidden = false;
  setBase(latentFromText(answer.z, state.model.latent_var_size), `your photo ${file.name}`);
}

// -- sliders ---------------------------------------------------------------------------------------

function buildSliders() {
  const container = $("sliders");
  const attributes = state.model.attributes;
  if (!attributes.length) {
    $("attributes-note").textContent = "No attribute vectors for this model, so no sliders: write them with " +
      "python generate.py --mode=attributes (see the README), or start with --attribute_vectors_file=FILE.";
    return;
  }
  $("attributes-note").textContent = `Each slider adds k times its attribute's vector (mean latent of faces with ` +
    `it minus those without, from ${state.model.attribute_vectors_file}), k from -${SLIDER_RANGE} to +${SLIDER_RANGE}.`;
  attributes.forEach((attribute, k) => {
    const row = document.createElement("div");
    row.className = "slider";
    const id = `slider-${k}`;
    row.innerHTML = `<label for="${id}"></label><input id="${id}" type="range" min="-${SLIDER_RANGE}" ` +
      `max="${SLIDER_RANGE}" step="0.05" value="0"><output for="${id}">0.00</output>`;
    row.querySelector("label").textContent = attribute.name.replace(/_/g, " ");
    row.querySelector("label").title = `${attribute.name}: ${attribute.with} faces with it, ${attribute.without} without`;
    const input = row.querySelector("input");
    input.dataset.attribute = attribute.name;
    input.disabled = !attribute.vector;
    if (attribute.note) {
      const note = document.createElement("div");
      note.className = "few";
      note.textContent = attribute.note;
      row.appendChild(note);
    }
    input.addEventListener("input", (event) => {
      state.sliders[k] = Number(input.value);
      row.querySelector("output").textContent = state.sliders[k].toFixed(2);
      face.request(event.timeStamp);
    });
    container.appendChild(row);
  });
}

function syncSliders() {
  state.model.attributes.forEach((_, k) => {
    const input = $(`slider-${k}`);
    if (!input) return;
    input.value = state.sliders[k];
    input.parentElement.querySelector("output").textContent = Number(state.sliders[k]).toFixed(2);
  });
}

// -- start -----------------------------------------------------------------------------------------

function wire() {
  $("random").addEventListener("click", () => sample(Math.floor(Math.random() * 2 ** 31)));
  $("seed").addEventListener("change", () => {
    const seed = Number($("seed").value);
    if (Number.isInteger(seed) && seed >= 0) sample(seed); else showMessage("the seed must be a whole number from 0");
  });
  $("temperature").addEventListener("input", () => {
    $("temperature-value").textContent = Number($("temperature").value).toFixed(2);
  });
  $("temperature").addEventListener("change", () => { if (state.seed !== null) sample(state.seed); });
  $("upload").addEventListener("change", () => {
    const file = $("upload").files[0];
    $("upload").value = "";
    if (file) upload(file);
  });
  $("reset").addEventListener("click", (event) => {
    state.sliders = state.model.attributes.map(() => 0);
    syncSliders();
    face.request(event.timeStamp);
  });
  $("download-face").addEventListener("click", async () => save(await canvasPng($("face")), "face.png"));
  window.addEventListener("hashchange", () => readUrl());
}

async function start() {
  const response = await fetch("api/model");
  state.model = await response.json();
  const model = state.model;
  const size = model.image_size;
  state.decoder = await loadDecoder("api/decoder.onnx", model.latent_var_size, size);
  $("model-info").textContent = `${model.source} · ${model.vae_def || "unknown definition"}, latent size ` +
    `${model.latent_var_size}, ${size}x${size} faces · photos are framed as in training: ${model.framing} · ` +
    `decoding with onnxruntime-web (wasm, ${state.decoder.threads} thread${state.decoder.threads > 1 ? "s" : ""})`;
  face = new Renderer($("face"), state.decoder, size, currentLatent, { onPainted: scheduleUrl, onError: showMessage });
  buildSliders();
  wire();
  document.querySelectorAll("button").forEach((button) => { button.disabled = false; });
  path = new PathPanel(state.decoder, size, {
    current: currentLatent, onUse: (latent, words) => setBase(latent, words), onChange: scheduleUrl,
    onError: showMessage,
  });
  if (!readUrl()) await sample(Number($("seed").value) || 0, true);
  await face.idle();
  window.explorer.ready = true;
}

window.explorer = {
  ready: false,
  state,
  currentLatent: () => Array.from(currentLatent()),
  shownLatent: () => Array.from(face.shown),
  scrubLatent: () => (path.scrub.shown ? Array.from(path.scrub.shown) : null),
  stripLatents: () => path.strip.map((latent) => Array.from(latent)),
  latencies: () => face.latencies.concat(path.scrub.latencies),
  decodeTimes: () => face.decodeTimes.concat(path.scrub.decodeTimes),
  idle: async () => { await path.idle(); await face.idle(); },
  writeUrl,
};

start().catch((error) => {
  showMessage(`The explorer could not start: ${error.message}`);
  $("model-info").textContent = "";
});
