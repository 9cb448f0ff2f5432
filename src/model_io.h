// Model files and training checkpoints.
//
// Both share one container, every number little-endian whatever the host:
//   offset 0   magic      8 bytes: "CNNMODEL" (model) or "CNNCKPT\0" (checkpoint)
//          8   version    u32, kFormatVersion
//         12   payload    u64, bytes of payload that follow
//         20   payload
//   20+payload crc32      u32, zlib CRC-32 of every byte before it
// Payload of a model:
//   shape      u32 x 7: img_h 28, img_w 28, conv_c 8, kernel 3, pool 2,
//              features 1568, classes 10
//   params     f32: conv_w (72), conv_b (8), fc_w (15680), fc_b (10)
// Payload of a checkpoint: the model payload, then the training state:
//   epochs_done u32, batch u32, lr f32, seed u64, rng_state u64,
//   n u32, indices u32 x n (the order as shuffled in the last epoch done),
//   rows u32, then per row: epoch u32, loss f32, seconds f64.
//
// A loader checks, in this order, the magic, the version, that the file is
// exactly as long as its header says (shorter = truncated), the CRC, then
// the shape; each failure is a ModelError whose one-line message names the
// file. Writes are atomic: a temporary file in the destination's directory,
// fsync, rename over the final name, fsync of the directory; a crash leaves
// either the old file or the new one, never half of one.
#pragma once

#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

#include "kernels/backend.h"
#include "src/trainer.h"  // TrainState

namespace cnn {

constexpr std::uint32_t kFormatVersion = 1;

class ModelError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

struct Checkpoint {
  Params params;
  TrainState state;
};

void save_model(const std::string& path, const Params& p);
// Accepts a model file or a checkpoint (whose parameters it returns).
Params load_model(const std::string& path);

void save_checkpoint(const std::string& path, const Params& p, const TrainState& s);
Checkpoint load_checkpoint(const std::string& path);

// Throws ModelError unless a file can be created at `path` (its directory
// exists, or can be created, and is writable; `path` is not a directory).
// An existing file at `path` is left untouched: the probe is a temporary
// file beside it, removed at once.
void check_writable(const std::string& path);

// Writes `bytes` to `path` atomically (see above). Throws ModelError.
void write_file_atomic(const std::string& path, const std::vector<std::uint8_t>& bytes);

}  // namespace cnn
