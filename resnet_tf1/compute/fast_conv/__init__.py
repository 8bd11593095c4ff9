"""Convolutions with fewer multiplications, chosen by shape, for inference
and training.

TensorFlow's CPU `Conv2D` already runs the article's ResNet-34 forward pass
near this machine's GEMM peak, so evaluation gets faster only by doing fewer
multiplications. Three formulations, exact in real arithmetic, do on the
small maps of the last two stages (58% of the network's MACs):

* dense (maps smaller than the kernel, e.g. 3x3 SAME on 2x2): with zero
  padding only 4 of a 3x3 kernel's 9 taps ever meet a pixel, so the conv is
  one matrix product [N, H*W*C_in] x [H*W*C_in, OH*OW*C_out] whose matrix
  holds the kernel's taps that touch real pixels: 16/36 of the MACs.
* winograd (3x3 stride 1 where one F(4x4, 3x3) tile covers the output,
  i.e. maps up to 4x4): Lavin & Gray's minimal filtering algorithm, 36
  products of [N, C_in] x [C_in, C_out] instead of 16 x 9: 1/4 of the MACs.
  The input and output transforms are constant matrices (padding included)
  applied as one matmul each. In float32 its results differ from TF's by a
  few 1e-6 of the output's range (coefficients from 1/24 to 8); dense's
  only by summation order.
* toeplitz (3x3 SAME stride 1 on 2x2 maps): along an axis of
  2 pixels the conv is a 2x2 Toeplitz product, 3 multiplications instead
  of 4 (Winograd's minimal F(2, 2)): 9 products of [N, C_in] x
  [C_in, C_out] instead of dense's 16, coefficients 0 and +-1 only.

Which formulation a conv gets is `formulation()` (in inference and
training graphs toeplitz where it says dense on 2x2 maps), a
rule written from timings measured per layer (`python -m resnet_tf1 bench
--layers` prints them); TensorFlow's own conv stays everywhere else, and
for anything but float32 NHWC, undilated, SAME/VALID convs.

All need the kernel rearranged (the dense matrix, the Winograd-domain or
Toeplitz kernel). Recomputed for every batch that would cost as much as
the rewrite saves, so they are cached in local variables
(`CACHED_KERNELS`, also in LOCAL_VARIABLES, never in checkpoints) that
`refresh_op()` recomputes from the weights: run it after every restore,
as TF1's local-init ops are.

Training (`training_formulations()`, `training_formulation()`): the weights
change every step, so the kernels are rearranged in the step, and the forms
pay off because both gradients take the same form and reuse the forward
pass' rearranged kernel and transformed inputs (`winograd_training_conv`;
`toeplitz_training_conv`, 9 products per pass where the dense form has
16; `tap_training_conv`, the dense form computed tap by tap over only the
(input, output) pixel pairs a tap joins, with no matrix built, for the
rest of the dense class). A training step costs three passes, so
Winograd serves maps up to 8x8 there (2x2 tiles), only up to 4x4 in
inference.

How it is installed: the networks call plain `slim.conv2d`, and the code
that builds a graph (model_graph.logits) wraps the network in
`inference_formulations()` (eval.py's graph, bench's) or
`training_formulations()` (training graphs, `--conv_gradients fast` or
`auto` on a CPU). Inside either block `tf_slim.conv2d` is this module's
`conv2d`, which carries slim.conv2d's arg_scope key, so the family's
arg_scope (keyed on slim.conv2d) applies to it unchanged. A conv whose
shape the rule picks creates the same variables slim would
(`<scope>/weights`, `<scope>/biases`, model variables with the arg_scope's
initializer and regularizer), applies the same normalizer and activation,
and computes the convolution the faster way; any other conv is slim's own.
Checkpoints restore either way. A graph-level switch (like conv_gradients'
gradient override) cannot do this: TF1 offers no hook to replace a forward
op, only its gradient.

The files: rule.py (which formulation a conv gets), dense.py, winograd.py,
toeplitz.py (one algorithm each, forward and gradients), training.py (the
three passes of a training step in one formulation), layer.py (the
slim-compatible conv2d, the cached kernels, and the blocks that install
it). This module re-exports their public names.
"""

from resnet_tf1.compute.fast_conv.rule import formulation  # noqa: F401
from resnet_tf1.compute.fast_conv.rule import inference_formulation  # noqa: F401
from resnet_tf1.compute.fast_conv.rule import training_formulation  # noqa: F401
from resnet_tf1.compute.fast_conv.dense import dense_conv  # noqa: F401
from resnet_tf1.compute.fast_conv.dense import dense_filter_gradient  # noqa: F401
from resnet_tf1.compute.fast_conv.dense import dense_input_gradient  # noqa: F401
from resnet_tf1.compute.fast_conv.dense import dense_kernel  # noqa: F401
from resnet_tf1.compute.fast_conv.dense import tap_conv  # noqa: F401
from resnet_tf1.compute.fast_conv.dense import tap_input_gradient  # noqa: F401
from resnet_tf1.compute.fast_conv.dense import tap_pairs  # noqa: F401
from resnet_tf1.compute.fast_conv.winograd import TILE  # noqa: F401
from resnet_tf1.compute.fast_conv.winograd import WINDOW  # noqa: F401
from resnet_tf1.compute.fast_conv.winograd import WINOGRAD_AT  # noqa: F401
from resnet_tf1.compute.fast_conv.winograd import WINOGRAD_BT  # noqa: F401
from resnet_tf1.compute.fast_conv.winograd import WINOGRAD_G  # noqa: F401
from resnet_tf1.compute.fast_conv.winograd import winograd_conv  # noqa: F401
from resnet_tf1.compute.fast_conv.winograd import winograd_filter_gradient  # noqa: F401
from resnet_tf1.compute.fast_conv.winograd import winograd_input  # noqa: F401
from resnet_tf1.compute.fast_conv.winograd import winograd_input_gradient  # noqa: F401
from resnet_tf1.compute.fast_conv.winograd import winograd_kernel  # noqa: F401
from resnet_tf1.compute.fast_conv.winograd import winograd_output_gradient  # noqa: F401
from resnet_tf1.compute.fast_conv.winograd import winograd_transforms  # noqa: F401
from resnet_tf1.compute.fast_conv.toeplitz import TOEPLITZ_AT  # noqa: F401
from resnet_tf1.compute.fast_conv.toeplitz import TOEPLITZ_BT  # noqa: F401
from resnet_tf1.compute.fast_conv.toeplitz import TOEPLITZ_G  # noqa: F401
from resnet_tf1.compute.fast_conv.toeplitz import toeplitz_conv  # noqa: F401
from resnet_tf1.compute.fast_conv.toeplitz import toeplitz_filter_gradient  # noqa: F401
from resnet_tf1.compute.fast_conv.toeplitz import toeplitz_input  # noqa: F401
from resnet_tf1.compute.fast_conv.toeplitz import toeplitz_input_gradient  # noqa: F401
from resnet_tf1.compute.fast_conv.toeplitz import toeplitz_kernel  # noqa: F401
from resnet_tf1.compute.fast_conv.toeplitz import toeplitz_output_gradient  # noqa: F401
from resnet_tf1.compute.fast_conv.training import dense_training_conv  # noqa: F401
from resnet_tf1.compute.fast_conv.training import tap_training_conv  # noqa: F401
from resnet_tf1.compute.fast_conv.training import toeplitz_training_conv  # noqa: F401
from resnet_tf1.compute.fast_conv.training import winograd_training_conv  # noqa: F401
from resnet_tf1.compute.fast_conv.layer import CACHED_KERNELS  # noqa: F401
from resnet_tf1.compute.fast_conv.layer import cached_kernel  # noqa: F401
from resnet_tf1.compute.fast_conv.layer import conv2d  # noqa: F401
from resnet_tf1.compute.fast_conv.layer import inference_formulations  # noqa: F401
from resnet_tf1.compute.fast_conv.layer import refresh_op  # noqa: F401
from resnet_tf1.compute.fast_conv.layer import training_formulations  # noqa: F401
