"""resnet-tf1: TF1-style (graph mode, tf-slim, Session) ResNets on today's
TensorFlow."""

import setuptools

# What the README's commands beyond train.py and eval.py need. TensorFlow
# 2.21 does not require TensorBoard: it must be asked for.
TENSORBOARD = ['tensorboard']
PLOT = ['matplotlib>=3.5']

setuptools.setup(
    name='resnet-tf1',
    version='0.1.0',
    description='TF1-style ResNet training and evaluation on modern '
                'TensorFlow (tf.compat.v1 + tf-slim)',
    packages=setuptools.find_packages(include=['resnet_tf1', 'resnet_tf1.*',
                                               'tf1_migrate',
                                               'tf1_migrate.*']),
    # The TF1 API inventory and verdicts tf1_migrate.inventory reads.
    package_data={'tf1_migrate': ['data/*.json']},
    py_modules=['data_set'],
    python_requires='>=3.9',
    entry_points={'console_scripts': [
        'migrate-check = tf1_migrate.__main__:main',
        'tf1-checkpoint-diff = tf1_migrate.checkpoint_diff:main']},
    install_requires=[
        'tensorflow>=2.15',
        'tf-slim>=1.1.0',
        'numpy',
        'absl-py',
    ],
    extras_require={
        'tensorboard': TENSORBOARD,
        'plot': PLOT,
        # The tests read event files through TensorBoard and draw plots;
        # pytest-xdist runs them two at a time (docs/testing.md: why).
        'test': ['pytest', 'pytest-xdist', 'hypothesis', 'import-linter']
        + TENSORBOARD + PLOT,
    },
)
