"""Drawing the synthetic faces: colours, layout and the soft-edged shapes (numpy only); see ``synthetic``."""
import numpy as np

HAIR_COLORS = np.array([[30, 26, 26], [228, 196, 108], [112, 72, 42]], np.float32)  # black, blond, brown
BROW_COLORS = np.array([[25, 22, 22], [160, 125, 65], [80, 50, 30]], np.float32)
PALE_SKIN_COLOR = np.array([250, 228, 212], np.float32)
SKIN_COLORS = np.array([[224, 172, 140], [200, 146, 110], [160, 110, 80], [112, 76, 56]], np.float32)
IRIS_COLORS = np.array([[70, 45, 30], [50, 80, 120], [60, 90, 60], [40, 30, 25]], np.float32)
SHIRT_COLORS = np.array([[60, 80, 140], [70, 120, 90], [90, 90, 100], [40, 60, 90], [150, 150, 160]], np.float32)
LIP_COLOR = np.array([178, 40, 52], np.float32)
TEETH_COLOR = np.array([246, 244, 236], np.float32)
MOUTH_COLOR = np.array([52, 12, 18], np.float32)
GLASSES_COLOR = np.array([22, 22, 28], np.float32)

# Layout in normalised units (1 = half the image), relative to the face centre (cx, cy).
EYE_DY, BROW_DY, MOUTH_DY = -0.08, -0.19, 0.30
HAIRLINE_DY, BANGS_DY = -0.40, -0.26
LENS_RADIUS, GLASSES_LINE, LIP = 0.12, 0.05, 0.065
# A smile raises the mouth by SMILE_RAISE, widens it by SMILE_WIDTH, thickens both lips to SMILE_LIP and
# parts them by TEETH (white teeth; TEETH_OPEN above an open mouth's opening, which it shortens by
# SMILE_OPEN); the eyes narrow by SQUINT.
TEETH, TEETH_OPEN, SMILE_LIP, SMILE_OPEN = 0.05, 0.03, 0.085, 0.65
SMILE_RAISE, SMILE_WIDTH, SQUINT = 0.04, 1.1, 0.6
CHEEK_DX, CHEEK_DY = 0.68, 0.12  # cheek: clear of glasses, nose, a grin and beard (x in face half-widths)
JAW_DX, JAW_DY = 0.6, 0.3  # jaw beside the mouth: under the beard (x in face half-widths)
SIDE_HAIR_DX, SIDE_HAIR_DY = 1.18, 0.2  # beside the face: long hair, else background (x in face half-widths)
HAIR_DY = -0.5  # top of the head: always hair


def _ellipse_distance(u, v, cx, cy, rx, ry):
    k = np.sqrt(((u - cx) / rx) ** 2 + ((v - cy) / ry) ** 2)
    return (k - 1.0) * np.minimum(rx, ry)


class _Canvas:
    """A batch of images in float32 0..255 and the normalised pixel coordinates of a sub-window.

    Drawing a feature only inside the box that holds it (over the whole batch) keeps this fast.
    """

    def __init__(self, n, image_size, background):
        self.size = image_size
        self.pixel = 2.0 / image_size
        self.coords = (np.arange(image_size, dtype=np.float32) + 0.5) * self.pixel - 1.0
        self.pixels = np.empty((n, image_size, image_size, 3), np.float32)
        self.pixels[:] = background[:, None, None, :]

    def _index(self, low, high):
        low = int(np.floor((float(np.min(low)) + 1.0) / self.pixel)) - 2
        high = int(np.ceil((float(np.max(high)) + 1.0) / self.pixel)) + 2
        return slice(max(low, 0), max(min(high, self.size), 0))

    def window(self, top=-1.0, bottom=1.0, left=-1.0, right=1.0):
        """Return ``(box, u, v)``: the index box covering the given normalised bounds and its coordinates."""
        rows, cols = self._index(top, bottom), self._index(left, right)
        return (rows, cols), self.coords[None, None, cols], self.coords[None, rows, None]

    def paint(self, box, alpha, color):
        """Blend ``color`` (N, 3) over the ``box`` with coverage ``alpha`` (N, h, w), in place."""
        region = self.pixels[:, box[0], box[1]]
        alpha = np.asarray(alpha, np.float32)[..., None]
        region += alpha * (np.asarray(color, np.float32)[:, None, None, :] - region)

    def soft(self, distance, blur=1.0):
        """Coverage in 0..1 of a shape from its signed distance (negative inside), ``blur`` pixels wide."""
        return np.clip(0.5 - distance / (self.pixel * blur), 0.0, 1.0)


def draw_faces(p, image_size):
    n = len(p["cx"])

    def col(name):
        return np.asarray(p[name], np.float32)[:, None, None]

    canvas = _Canvas(n, image_size, np.asarray(p["background"], np.float32))
    soft = canvas.soft
    s = col("scale")
    cx, cy = col("cx"), col("cy")
    fw, fh = col("face_w") * s, col("face_h") * s
    male, hair = col("male") > 0, p["hair_rgb"]

    box, u, v = canvas.window()
    canvas.pixels *= (1.0 - 0.12 * (v + 1.0) / 2.0)[..., None]  # background darker towards the bottom
    # Hair behind the head: long for women (down to the shoulders), a short cap for men.
    long_hair = soft(_ellipse_distance(u, v, cx, cy + 0.08 * s, fw * 1.32, fh * 1.28))
    long_hair *= soft(v - (cy + 0.72 * s))
    cap = soft(_ellipse_distance(u, v, cx, cy - 0.06 * s, fw * 1.1, fh + 0.1 * s))
    short_hair = cap * soft(v - (cy - 0.05 * s))
    canvas.paint(box, np.where(male, short_hair, long_hair), hair)
    # Neck and shirt.
    box, u, v = canvas.window(top=cy)
    neck = soft(np.abs(u - cx) - fw * 0.42) * soft(cy + 0.3 * s - v)
    canvas.paint(box, neck, p["skin"] * 0.82)
    canvas.paint(box, soft(_ellipse_distance(u, v, cx, 1.08, 0.9, 0.36)), p["shirt"])
    # Face, narrowing towards the chin (less for men: a wider jaw).
    box, u, v = canvas.window(cy - fh, cy + fh, cx - fw, cx + fw)
    jaw = np.where(male, np.float32(0.12), np.float32(0.3))
    below = np.clip((v - cy) / fh, 0.0, 1.0)
    face = soft(_ellipse_distance(u, v, cx, cy, fw * (1.0 - jaw * below ** 2), fh))
    canvas.paint(box, face, p["skin"])
    # Beard: hair-coloured shading over the lower face.
    canvas.paint(box, face * soft(cy + 0.22 * s - v, 2.0) * col("beard") * 0.45, hair)
    # Hair over the top of the face down to the hairline; bangs come lower, with a ragged edge.
    box, u, v = canvas.window(cy - fh - 0.2, cy + 0.1 * s, cx - fw * 1.2, cx + fw * 1.2)
    du = u - cx
    cap = soft(_ellipse_distance(u, v, cx, cy - 0.06 * s, fw * 1.1, fh + 0.1 * s))
    hairline = cy + HAIRLINE_DY * s + 0.1 * (du / fw) ** 2
    bangs_line = cy + BANGS_DY * s + 0.015 * np.sin(du * 55.0)
    line = np.where(col("bangs") > 0, np.maximum(hairline, bangs_line), hairline)
    canvas.paint(box, cap * soft(v - line), hair)

    smiling = col("smiling") > 0
    eye_y = cy + EYE_DY * s
    eye_dx = col("eye_dx") * s
    brow = BROW_COLORS[p["hair"]]
    box, u, v = canvas.window(cy + BROW_DY * s - 0.08, eye_y + 0.08, cx - eye_dx - 0.12, cx + eye_dx + 0.12)
    for side in (-1.0, 1.0):
        ex = cx + side * eye_dx
        # Eyebrow: a short arched band.
        arch = BROW_DY * s - 0.02 * (1.0 - ((u - ex) / 0.09) ** 2)
        canvas.paint(box, soft(np.abs(v - (cy + arch)) - 0.018) * soft(np.abs(u - ex) - 0.09 * s), brow)
        eye_h = 0.045 * s * np.where(smiling, np.float32(SQUINT), np.float32(1.0))  # smiling eyes narrow
        white = soft(_ellipse_distance(u, v, ex, eye_y, 0.075 * s, eye_h))
        canvas.paint(box, white, np.full((n, 3), 245, np.float32))
        canvas.paint(box, soft(_ellipse_distance(u, v, ex, eye_y, 0.034 * s, 0.034 * s)) * white, p["iris"])
    # Nose: a shaded ridge and a darker base.
    box, u, v = canvas.window(eye_y, cy + 0.2, cx - 0.1, cx + 0.1)
    ridge = soft(np.abs(u - cx) - 0.012) * soft(eye_y + 0.06 - v) * soft(v - (cy + 0.12 * s))
    canvas.paint(box, ridge * 0.5, p["skin"] * 0.7)
    canvas.paint(box, soft(_ellipse_distance(u, v, cx, cy + 0.14 * s, 0.055 * s, 0.025 * s)) * 0.7, p["skin"] * 0.65)
    # Mouth: upper edge y = mouth_y - smile * (x / half_width)^2 (corners up when smiling). A smile also
    # raises and widens the mouth and parts its lips over white teeth; an open mouth adds a dark opening
    # (below the teeth when smiling).
    mouth_w = col("mouth_w") * s * np.where(smiling, np.float32(SMILE_WIDTH), np.float32(1.0))
    mouth_y = cy + (MOUTH_DY - np.where(smiling, np.float32(SMILE_RAISE), np.float32(0.0))) * s
    box, u, v = canvas.window(cy + (MOUTH_DY - 0.3) * s, cy + (MOUTH_DY + 0.3) * s, cx - mouth_w, cx + mouth_w)
    du = u - cx
    t = du / mouth_w
    upper = mouth_y - col("smile") * s * t ** 2
    is_open = col("open") > 0
    bulge = np.clip(1.0 - t ** 2, 0.0, 1.0)
    teeth = np.where(smiling, np.where(is_open, TEETH_OPEN, TEETH) * s, 0.0) * bulge
    opening = np.where(is_open, col("mouth_open") * s, 0.0) * np.where(smiling, SMILE_OPEN, 1.0) * bulge
    # The lips above and below the gap (teeth, then any opening); thicker in a grin, so that they stay
    # solid red beside the teeth.
    upper_lip = np.where(smiling, np.float32(SMILE_LIP), np.float32(0.03))
    lower_lip = np.where(smiling, np.float32(SMILE_LIP), np.float32(LIP - 0.03))
    gap_top = upper + upper_lip
    gap_bottom = gap_top + teeth + opening
    inside_x = soft(np.abs(du) - mouth_w)
    lips = inside_x * soft(upper - v) * soft(v - (gap_bottom + lower_lip))
    canvas.paint(box, lips, np.broadcast_to(LIP_COLOR, (n, 3)))
    white = inside_x * soft(gap_top - v) * soft(v - (gap_top + teeth - 0.005))
    canvas.paint(box, white * smiling, np.broadcast_to(TEETH_COLOR, (n, 3)))
    hole = inside_x * soft(gap_top + teeth - v) * soft(v - (gap_bottom - 0.01))
    canvas.paint(box, hole * is_open, np.broadcast_to(MOUTH_COLOR, (n, 3)))
    # Eyeglasses: two rings, a bridge and the arms out to the face edge.
    radius = LENS_RADIUS * s
    box, u, v = canvas.window(eye_y - radius - 0.05, eye_y + radius + 0.05, cx - fw * 1.1, cx + fw * 1.1)
    du = u - cx
    glasses = np.zeros((n,) + (v.shape[1], u.shape[2]), np.float32)
    for side in (-1.0, 1.0):
        ring = np.abs(np.sqrt((u - (cx + side * eye_dx)) ** 2 + (v - eye_y) ** 2) - radius) - GLASSES_LINE / 2
        glasses = np.maximum(glasses, soft(ring))
    bar = soft(np.abs(v - eye_y) - GLASSES_LINE / 2)
    arms = bar * soft(eye_dx + radius - np.abs(du)) * soft(np.abs(du) - fw * 1.02)
    bridge = bar * soft(np.abs(du) - (eye_dx - radius) - canvas.pixel)
    glasses = np.maximum(glasses, np.maximum(arms, bridge)) * (col("glasses") > 0)
    canvas.paint(box, glasses, np.broadcast_to(GLASSES_COLOR, (n, 3)))
    # Lighting: overall brightness and a left-right gradient, then a little sensor noise.
    pixels = canvas.pixels
    pixels *= (col("brightness") * (1.0 + col("gradient") * canvas.coords[None, None, :]))[..., None]
    for i in range(n):
        noise = np.random.default_rng(int(p["noise_seed"][i])).normal(0.0, 2.0, pixels.shape[1:])
        pixels[i] += noise.astype(np.float32)
    return np.clip(np.round(pixels), 0, 255).astype(np.uint8)
