// From A to B: the strip of faces on the linear or spherical path (generation.py's two paths), the
// face at the scrubber, and the strip's downloads (PNG, animated GIF).
import { Renderer, toImageData } from "./decoder.js";
import { animatedGif, canvasPng, save } from "./downloads.js";
import { linear, positions, spherical } from "./latent.js";

const $ = (id) => document.getElementById(id);
const CONTROLS = ["scrubber", "use-scrubbed", "download-strip", "download-gif"];
const MAX_STEPS = 16;

export class PathPanel {
  // current(): the edited latent of the current face; onUse(latent, words): make it the current face;
  // onChange(): A, B or the path changed; onError(message).
  constructor(decoder, imageSize, { current, onUse, onChange, onError }) {
    this.decoder = decoder;
    this.size = imageSize;
    this.a = null;
    this.b = null;
    this.strip = [];
    this.images = [];
    this.work = Promise.resolve();
    this.onChange = onChange;
    this.onError = onError;
    this.scrub = new Renderer($("scrub-face"), decoder, imageSize,
      () => (this.ready() ? this.at(Number($("scrubber").value)) : null), { onError });
    $("set-a").addEventListener("click", () => this.setEnds(current(), this.b));
    $("set-b").addEventListener("click", () => this.setEnds(this.a, current()));
    $("interpolation").addEventListener("change", () => this.update());
    $("steps").addEventListener("change", () => this.update());
    $("scrubber").addEventListener("input", (event) => this.scrub.request(event.timeStamp));
    $("use-scrubbed").addEventListener("click", () => {
      const t = $("scrubber").value;
      onUse(this.at(Number(t)), `the point ${t} of the way from A to B`);
    });
    $("download-strip").addEventListener("click", async () => save(await canvasPng($("strip")), "interpolation.png"));
    $("download-gif").addEventListener("click", () => save(animatedGif(this.images), "interpolation.gif"));
    CONTROLS.forEach((id) => { $(id).disabled = true; });
  }

  ready() {
    return Boolean(this.a && this.b);
  }

  path() {
    return $("interpolation").value;
  }

  at(t) {
    return (this.path() === "spherical" ? spherical : linear)(this.a, this.b, t);
  }

  setEnds(a, b, path) {
    this.a = a;
    this.b = b;
    if (path) $("interpolation").value = path;
    return this.update();
  }

  async paint(canvas, latent) {
    const [rgb] = await this.decoder.decode([latent]);
    canvas.getContext("2d").putImageData(toImageData(rgb, this.size, this.size), 0, 0);
  }

  // Repaints A, B, the strip and the scrubber's face; resolves when done.
  update() {
    this.work = this.work.then(async () => {
      if (this.a) await this.paint($("face-a"), this.a);
      if (this.b) await this.paint($("face-b"), this.b);
      CONTROLS.forEach((id) => { $(id).disabled = !this.ready(); });
      if (!this.ready()) return;
      const steps = Math.max(2, Math.min(MAX_STEPS, Math.round(Number($("steps").value)) || 8));
      this.strip = positions(steps).map((t) => this.at(t));
      const pixels = await this.decoder.decode(this.strip);
      this.images = pixels.map((rgb) => toImageData(rgb, this.size, this.size));
      const strip = $("strip");
      strip.width = steps * this.size;
      this.images.forEach((image, i) => strip.getContext("2d").putImageData(image, i * this.size, 0));
      $("interpolation-note").textContent = `${steps} faces on the ${this.path()} path from A to B ` +
        "(both ends included); the scrubber shows any point between.";
      this.scrub.request();
      this.onChange();
    }).catch((error) => this.onError(`could not decode the faces from A to B: ${error.message}`));
    return this.work;
  }

  async idle() {
    await this.work;
    await this.scrub.idle();
  }
}
