// Files the page hands to the user: a canvas as PNG, and face frames as an animated GIF (gifenc).
import { GIFEncoder, applyPalette, quantize } from "./vendor/gifenc/gifenc.esm.js";

export function save(blob, filename) {
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = filename;
  document.body.appendChild(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 10000);
}

export function canvasPng(canvas) {
  return new Promise((resolve) => canvas.toBlob(resolve, "image/png"));
}

// frames: ImageData of one size. The GIF plays them forth and back, forever, delay ms each.
export function animatedGif(frames, delay = 150) {
  const order = frames.concat(frames.slice(1, -1).reverse());
  const gif = GIFEncoder();
  for (const frame of order) {
    const palette = quantize(frame.data, 256);
    gif.writeFrame(applyPalette(frame.data, palette), frame.width, frame.height, { palette, delay });
  }
  gif.finish();
  return new Blob([gif.bytes()], { type: "image/gif" });
}
