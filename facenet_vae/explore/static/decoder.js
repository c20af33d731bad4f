// The decoder in the page: onnxruntime-web's wasm backend running the model's decoder.onnx
// (latent -> uint8 images), and a Renderer that paints one canvas, decoding only the newest
// latent when inputs come faster than decodes, and timing input -> painted canvas.
import * as ort from "./vendor/onnxruntime-web/ort.wasm.min.mjs";

export async function loadDecoder(url, latentSize, imageSize) {
  ort.env.wasm.wasmPaths = new URL("./vendor/onnxruntime-web/", import.meta.url).href;
  // One core stays with the page (events, painting): on 2 cores one decoding thread measured faster than
  // two (p50 19-30 ms against 47-55 ms while the machine was busy). Threads need cross-origin isolation.
  const cores = navigator.hardwareConcurrency || 1;
  ort.env.wasm.numThreads = self.crossOriginIsolated ? Math.max(1, Math.min(4, cores - 1)) : 1;
  const response = await fetch(url);
  if (!response.ok) throw new Error(`could not fetch the decoder (${response.status})`);
  const session = await ort.InferenceSession.create(new Uint8Array(await response.arrayBuffer()),
    { executionProviders: ["wasm"], graphOptimizationLevel: "all" });
  const pixelsPerImage = imageSize * imageSize * 3;
  // Returns one Uint8Array (size x size x 3, RGB) per latent.
  async function decode(latents) {
    const batch = new Float32Array(latents.length * latentSize);
    latents.forEach((latent, i) => batch.set(latent, i * latentSize));
    const feeds = { latent: new ort.Tensor("float32", batch, [latents.length, latentSize]) };
    const { images } = await session.run(feeds, ["images"]);
    const data = images.data;
    return latents.map((_, i) => data.slice(i * pixelsPerImage, (i + 1) * pixelsPerImage));
  }
  await decode([new Float32Array(latentSize)]);  // the first run is slow: do it before anyone waits
  return { decode, threads: ort.env.wasm.numThreads };
}

export function toImageData(rgb, width, height) {
  const image = new ImageData(width, height);
  for (let p = 0, q = 0; p < rgb.length; p += 3, q += 4) {
    image.data[q] = rgb[p];
    image.data[q + 1] = rgb[p + 1];
    image.data[q + 2] = rgb[p + 2];
    image.data[q + 3] = 255;
  }
  return image;
}

// Calls back once the frame holding the latest canvas change has been painted.
function afterPaint(callback) {
  requestAnimationFrame(() => setTimeout(callback, 0));
}

export class Renderer {
  // latentFn() gives the latent to show (null: nothing); onPainted(latent) and onError(message) report back.
  constructor(canvas, decoder, imageSize, latentFn, { onPainted, onError } = {}) {
    this.canvas = canvas;
    this.context = canvas.getContext("2d");
    this.decoder = decoder;
    this.imageSize = imageSize;
    this.latentFn = latentFn;
    this.onPainted = onPainted || (() => {});
    this.onError = onError || ((message) => console.warn(message));
    this.busy = false;
    this.dirty = false;
    this.inputTimes = [];
    this.latencies = [];
    this.decodeTimes = [];
    this.shown = null;
    this.idleWaiters = [];
    this.error = null;
  }

  // Ask for a repaint; inputTime (performance.now() time base) is when the user's input happened.
  request(inputTime) {
    if (inputTime !== undefined) this.inputTimes.push(inputTime);
    this.dirty = true;
    if (!this.busy) this.loop();
  }

  async loop() {
    this.busy = true;
    try {
      while (this.dirty) {
        this.dirty = false;
        const times = this.inputTimes;
        this.inputTimes = [];
        const latent = this.latentFn();
        if (!latent) break;
        const started = performance.now();
        const [rgb] = await this.decoder.decode([latent]);
        this.decodeTimes.push(performance.now() - started);
        this.context.putImageData(toImageData(rgb, this.imageSize, this.imageSize), 0, 0);
        this.shown = latent;
        if (times.length) {
          afterPaint(() => {
            const now = performance.now();
            times.forEach((t) => this.latencies.push(now - t));
          });
        }
        this.onPainted(latent);
      }
    } catch (error) {
      this.error = error;
      this.onError(`could not decode the face: ${error.message}`);
    } finally {
      this.busy = false;
      if (!this.dirty) {
        const waiters = this.idleWaiters;
        this.idleWaiters = [];
        afterPaint(() => waiters.forEach((resolve) => resolve()));
      }
    }
  }

  // Resolves once no decode is running or asked for, and the last one is painted.
  idle() {
    if (!this.busy && !this.dirty) return new Promise((resolve) => afterPaint(resolve));
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }
}
