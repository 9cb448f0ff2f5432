// im2col: one image to its patch matrix P^T (9,784), row t = ky*3 + kx holding
// the zero-padded input shifted by (ky-1, kx-1). Each row is built from
// contiguous runs of 27 or 28 pixels (memcpy), not a per-pixel bounds test.
#include <cstring>

#include "kernels/im2col/im2col.h"

namespace cnn {

void conv_fwd_patches_im2col(const float* img, float* pt) {
  for (int ky = 0; ky < kKernel; ++ky) {
    for (int kx = 0; kx < kKernel; ++kx) {
      float* row = pt + (ky * kKernel + kx) * kImgPixels;
      for (int oy = 0; oy < kImgH; ++oy) {
        float* d = row + oy * kImgW;
        const int iy = oy + ky - 1;
        if (iy < 0 || iy >= kImgH) {
          std::memset(d, 0, kImgW * sizeof(float));
          continue;
        }
        const float* s = img + iy * kImgW;
        if (kx == 0) {  // input column ox - 1
          d[0] = 0.0f;
          std::memcpy(d + 1, s, (kImgW - 1) * sizeof(float));
        } else if (kx == 1) {
          std::memcpy(d, s, kImgW * sizeof(float));
        } else {  // input column ox + 1
          std::memcpy(d, s + 1, (kImgW - 1) * sizeof(float));
          d[kImgW - 1] = 0.0f;
        }
      }
    }
  }
}

}  // namespace cnn

namespace cnn {

// The same patch matrix with its 784 columns in window order: column
// q*196 + w holds output pixel (2*py + dy, 2*px + dx) for pooling window
// w = py*14 + px and position q = dy*2 + dx in it. The convolution then
// writes each window's four pixels 196 floats apart, and pooling is a
// max over four contiguous vectors.
//
// Built from the four parity planes of the zero-padded 30x30 frame F
// (plane[a][b][i][j] = F[2i + a][2j + b], 15x15 each): the tap (ky, kx) of
// pixel (2py + dy, 2px + dx) is F[2py + dy + ky][2px + dx + kx], i.e. plane
// row py + (dy+ky)/2 of plane ((dy+ky)&1, (dx+kx)&1), from column
// (dx+kx)/2: for fixed tap, q and py, 14 consecutive floats of one plane.
void conv_fwd_patches_quad_im2col(const float* img, float* pt) {
  constexpr int P = 15;  // plane side
  // F row 2i + a is image row 2i + a - 1: plane a = 0 holds the odd image
  // rows at i = 1..14 (i = 0 is the top border), a = 1 the even rows at
  // i = 0..13 (i = 14 the bottom border); the same for columns and b.
  float plane[2][2][P * P];
  for (int a = 0; a < 2; ++a)
    for (int b = 0; b < 2; ++b) {
      float* pl = plane[a][b];
      const int i_border = a == 0 ? 0 : P - 1, j_border = b == 0 ? 0 : P - 1;
      const int i_off = a == 0 ? 1 : 0, j_off = b == 0 ? 1 : 0;
      for (int j = 0; j < P; ++j) pl[i_border * P + j] = 0.0f;
      for (int r = 0; r < kPoolH; ++r) {  // image row 2r + 1 - a
        const float* src = img + (2 * r + 1 - a) * kImgW + (1 - b);
        float* dst = pl + (r + i_off) * P + j_off;
        pl[(r + i_off) * P + j_border] = 0.0f;
        for (int c = 0; c < kPoolW; ++c) dst[c] = src[2 * c];  // image column 2c + 1 - b
      }
    }
  for (int ky = 0; ky < kKernel; ++ky)
    for (int kx = 0; kx < kKernel; ++kx) {
      float* row = pt + (ky * kKernel + kx) * kImgPixels;
      for (int dy = 0; dy < 2; ++dy)
        for (int dx = 0; dx < 2; ++dx) {
          const int a = dy + ky, b = dx + kx;
          const float* src = plane[a & 1][b & 1] + (a >> 1) * P + (b >> 1);
          float* dst = row + (dy * 2 + dx) * kPoolPixels;
          for (int py = 0; py < kPoolH; ++py)
            std::memcpy(dst + py * kPoolW, src + py * P, kPoolW * sizeof(float));
        }
    }
}

}  // namespace cnn
