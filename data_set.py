"""Default hyper-parameters of train.py and eval.py: the article's values
(its DATA_set.py), and the one place they are written.

The article also had CONV_SIZE = 3 and CONV_DEEP = 64 here. Kernel size and
width are architecture, not training knobs, so they live in the network
table of resnet_tf1/nets/resnet.py (3x3 unit convs; resnet18-152 start at 64
channels, the CIFAR nets at 16) and `--base_depth` overrides the width.
The norm, shortcut and stem defaults are per network too, in the registry
(resnet_tf1/nets/registry.py): the ResNets keep the article's, no batch
norm and the zero-padding shortcut (the paper's option A).

resnet_tf1/config.py's TrainConfig and ModelConfig take their defaults
from here, and the CLIs' flags (resnet_tf1/cli/flag_groups.py) from those.
"""

MODEL = 'resnet34'
NUM_LABELS = 10
IMAGE_SIZE = 28
IMAGE_CHANNELS = 1
VALIDATION_SIZE = 5000       # the first training images, as TF1's input_data
TRAIN_EXAMPLES = 60000 - VALIDATION_SIZE  # one epoch, for the LR decay

BATCH_SIZE = 100
LEARNING_RATE_BASE = 0.03
LEARNING_RATE_DECAY = 0.99   # multiplied in once per epoch (staircase)
LEARNING_RATE_SCHEDULE = 'exponential'  # the article's; or 'cosine'
REGULARIZATION_RATE = 1e-4   # L2 on every conv and FC weight
TRAINING_STEPS = 8000
MOVING_AVERAGE_DECAY = 0.99
OPTIMIZER = 'gradient_descent'
MOMENTUM = 0.9               # used with --optimizer momentum only
# The other optimizers of slim's train_image_classifier.py, under its flag
# names. Its defaults, but for the epsilon: slim's 1.0 (tuned for Inception
# on ImageNet) makes Adam and RMSProp crawl on MNIST; 1e-8 is Adam's own.
OPT_EPSILON = 1e-8           # adam, rmsprop, adadelta
ADAM_BETA1 = 0.9
ADAM_BETA2 = 0.999
RMSPROP_DECAY = 0.9
RMSPROP_MOMENTUM = 0.9
ADADELTA_RHO = 0.95
ADAGRAD_INITIAL_ACCUMULATOR_VALUE = 0.1
FTRL_LEARNING_RATE_POWER = -0.5
FTRL_INITIAL_ACCUMULATOR_VALUE = 0.1
FTRL_L1 = 0.0
FTRL_L2 = 0.0
RANDOM_SHIFT = 0             # augmentation, in pixels; the article had none
RANDOM_ROTATION = 0.0        # augmentation, in degrees either way; none
RANDOM_SCALE = 0.0           # augmentation: sizes in [1 - x, 1 + x]; none

SAVE_EVERY = 100
KEEP_CHECKPOINT_EVERY = 1000  # kept for good (0: only the 5 newest)
LOG_EVERY = 10
EVAL_BATCH_SIZE = 500

# Seconds a synchronous worker waits for a global step before computing
# another gradient (--step_timeout).
STEP_TIMEOUT = 60.0

DATA_DIR = 'MNIST_data'
MODEL_DIR = 'MNIST_model'
