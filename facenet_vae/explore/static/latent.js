// Latent vectors: base64url float32 text (as facenet_vae/explore/latent_codec.py), and the two
// interpolations of facenet_vae/generation.py (linear, and spherical with its linear fallback).

export function latentToText(latent) {
  const bytes = new Uint8Array(latent.length * 4);
  const view = new DataView(bytes.buffer);
  latent.forEach((value, i) => view.setFloat32(i * 4, value, true));
  let binary = "";
  bytes.forEach((b) => { binary += String.fromCharCode(b); });
  return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
}

// Returns a Float32Array, or throws an Error whose message says what is wrong with the text.
export function latentFromText(text, size) {
  let binary;
  try {
    const base64 = text.replace(/-/g, "+").replace(/_/g, "/");
    binary = atob(base64 + "=".repeat((4 - (base64.length % 4)) % 4));
  } catch (error) {
    throw new Error("the latent in the link is not base64url text");
  }
  if (binary.length !== size * 4) {
    throw new Error(`the latent in the link holds ${binary.length / 4} values, but this model's latent has ${size}`);
  }
  const view = new DataView(new ArrayBuffer(binary.length));
  for (let i = 0; i < binary.length; i++) view.setUint8(i, binary.charCodeAt(i));
  const latent = new Float32Array(size);
  for (let i = 0; i < size; i++) latent[i] = view.getFloat32(i * 4, true);
  if (!latent.every(Number.isFinite)) throw new Error("the latent in the link holds NaN or infinite values");
  return latent;
}

export function linear(a, b, t) {
  return Float32Array.from(a, (value, i) => (1 - t) * value + t * b[i]);
}

function norm(v) {
  return Math.sqrt(v.reduce((sum, x) => sum + x * x, 0));
}

export function spherical(a, b, t) {
  const normA = norm(a);
  const normB = norm(b);
  if (normA === 0 || normB === 0) return linear(a, b, t);
  let dot = 0;
  for (let i = 0; i < a.length; i++) dot += (a[i] / normA) * (b[i] / normB);
  const omega = Math.acos(Math.min(1, Math.max(-1, dot)));
  if (Math.sin(omega) < 1e-6) return linear(a, b, t);
  const wa = Math.sin((1 - t) * omega) / Math.sin(omega);
  const wb = Math.sin(t * omega) / Math.sin(omega);
  return Float32Array.from(a, (value, i) => wa * value + wb * b[i]);
}

// The strip's positions: steps values from 0 to 1, both ends included (numpy.linspace).
export function positions(steps) {
  return Array.from({ length: steps }, (_, i) => (i === steps - 1 ? 1 : i / (steps - 1)));
}
