"""Where each `tf.contrib` module of TF 1.15 went, and the few `tf.*` names
whose verdict is a route rather than a signature (tf.estimator, tf.keras).

This is the one hand-written part of the inventory: which package took a
module over is not in TensorFlow's material. Every replacement here is
resolved on its route by verdicts.py when data/tf1_api.json is built (the
build stops on one that does not) and again by
tests/test_migration_inventory.py; 'gone' says what to do instead. The
anchors are docs/MIGRATION.md's route sections.
"""

SLIM = 'needs `pip install tf-slim`; '
SLIM_BN = ('slim.batch_norm is broken on TF 2.21 (see the guide\'s batch '
           'norm section)')
ESTIMATOR_GONE = ('Estimator was removed in TF 2.16 (tf.compat.v1 too): '
                  'call the model_fn once in a tf.Graph and run its train_op '
                  'in tf.compat.v1.train.MonitoredTrainingSession, or pin '
                  'tensorflow<2.16')
TF_IO = ('not in TF 2.21; tensorflow-io has a reader for it (not verified '
         'here), or read it in Python and feed '
         'tf.data.Dataset.from_generator')
ADDONS = 'tensorflow-addons 0.23 fails to import on TF 2.21'


def _moved(replacement, note, section='contrib', route='',
           mechanical=False):
    return {'kind': 'moved', 'replacement': replacement, 'route': route,
            'note': note, 'section': section, 'mechanical': mechanical}


def _gone(note, section='contrib'):
    return {'kind': 'gone', 'replacement': '', 'route': '', 'note': note,
            'section': section, 'mechanical': False}


def _keras(replacement, note, section='route-tf-keras'):
    return {'kind': 'tf_keras', 'replacement': replacement,
            'route': 'tf_keras', 'note': note, 'section': section,
            'mechanical': False}


CONTRIB = {
    'all_reduce': _moved(
        'tf.distribute.MirroredStrategy', 'all-reduce across devices is '
        'what tf.distribute strategies do (cross_device_ops, e.g. '
        'tf.distribute.NcclAllReduce)', 'route-multi-gpu'),
    'autograph': _moved('tf.autograph', 'the same converter, now core'),
    'batching': _moved('tf.nondifferentiable_batch_function',
                       'batch_function -> tf.nondifferentiable_batch_'
                       'function (tf_upgrade_v2 rename)'),
    'bayesflow': _gone('moved to TensorFlow Probability (tfp.mcmc, '
                       'tfp.vi); not verified on TF 2.21 here'),
    'bigtable': _gone('Cloud Bigtable reader: ' + TF_IO),
    'boosted_trees': _gone('the boosted-trees Estimators went with '
                           'Estimator (TF 2.16): use TensorFlow Decision '
                           'Forests, XGBoost or LightGBM',
                           'route-estimator'),
    'checkpoint': _moved('tf.train.Checkpoint', 'object-based '
                         'checkpointing is core (tf.train.Checkpoint, '
                         'tf.train.CheckpointManager); the Checkpointable '
                         'data structures are tracked automatically'),
    'cloud': _gone('BigQuery reader: ' + TF_IO),
    'cluster_resolver': _moved(
        'tf.distribute.cluster_resolver', 'same classes; '
        'GceClusterResolver is spelled GCEClusterResolver',
        'route-multi-gpu'),
    'cmake': _gone('build scripts, not an API: nothing to replace'),
    'compiler': _moved('tf.xla.experimental.jit_scope',
                       'jit.experimental_jit_scope -> '
                       'tf.xla.experimental.jit_scope; xla.compile -> '
                       'tf.function(jit_compile=True)'),
    'constrained_optimization': _gone(
        'moved to TensorFlow Constrained Optimization (tfco); not '
        'verified on TF 2.21 here'),
    'copy_graph': _moved('tf.compat.v1.import_graph_def',
                         'copy a graph by exporting its GraphDef and '
                         'importing it into the other graph'),
    'crf': _gone('crf_log_likelihood / viterbi_decode went to '
                 'tensorflow-addons (tfa.text), and ' + ADDONS + ': copy '
                 'the two functions (plain TF ops) into the project'),
    'cudnn_rnn': _moved('tf.keras.layers.LSTM', 'the cuDNN kernel is '
                        'inside tf.keras.layers.LSTM/GRU (a rewrite: other '
                        'variable names); on the tf-keras route '
                        'tf.compat.v1.keras.layers.CuDNNLSTM exists'),
    'data': _moved('tf.data.experimental', 'group_by_window, '
                   'map_and_batch, bucket_by_sequence_length, '
                   'parallel_interleave, shuffle_and_repeat, '
                   'sample_from_datasets, unbatch... are in '
                   'tf.data.experimental; sliding_window_batch -> '
                   'Dataset.window'),
    'decision_trees': _gone('protos for the tree Estimators: use '
                            'TensorFlow Decision Forests',
                            'route-estimator'),
    'deprecated': _moved('tf.compat.v1.summary', 'scalar_summary, '
                         'histogram_summary... -> tf.compat.v1.summary.'
                         'scalar, .histogram...'),
    'distribute': _moved('tf.distribute', 'the strategies are core: '
                         'MirroredStrategy, '
                         'experimental.MultiWorkerMirroredStrategy, '
                         'TPUStrategy (constructors changed)',
                         'route-multi-gpu'),
    'distributions': _moved('tf.compat.v1.distributions',
                            'tf.compat.v1.distributions keeps the TF1 '
                            'classes; new code: TensorFlow Probability'),
    'eager': _moved('tf.function', 'TF2 runs eagerly by default: '
                    'tfe.defun -> tf.function, tfe.Variable -> '
                    'tf.Variable, tfe.GradientTape -> tf.GradientTape'),
    'estimator': _gone(ESTIMATOR_GONE, 'route-estimator'),
    'factorization': _gone('KMeans/WALS were Estimators (gone with TF '
                           '2.16): write the update with TF ops, or use '
                           'scikit-learn', 'route-estimator'),
    'feature_column': _moved('tf.compat.v1.feature_column',
                             'sequence_* columns and input_layer are in '
                             'tf.compat.v1.feature_column'),
    'ffmpeg': _gone('decode_audio/decode_video: WAV -> tf.audio.decode_'
                    'wav; other formats: decode with ffmpeg outside TF and '
                    'feed tf.data'),
    'framework': _moved('tf_slim', SLIM + 'arg_scope, add_arg_scope, '
                        'get_variables*, model_variable, '
                        'assign_from_checkpoint_fn are in tf_slim; '
                        'nest -> tf.nest; load_variable -> '
                        'tf.train.load_variable', route='tf_slim'),
    'fused_conv': _gone('write tf.nn.conv2d + tf.nn.bias_add + the '
                        'activation (oneDNN/XLA fuse them)'),
    'graph_editor': _gone('no graph editor in TF 2.21: rebuild the graph, '
                          'or edit the GraphDef proto and '
                          'tf.compat.v1.import_graph_def it'),
    'grid_rnn': _gone('no GridRNN cell anywhere on TF 2.21: port the cell '
                      'onto tf.compat.v1.nn.rnn_cell.RNNCell on the '
                      'tf-keras route', 'route-tf-keras'),
    'hadoop': _gone('Hadoop SequenceFile reader: ' + TF_IO),
    'hooks': _moved('tf.compat.v1.train.ProfilerHook',
                    'ProfilerHook is in tf.compat.v1.train'),
    'ignite': _gone('Apache Ignite reader: ' + TF_IO),
    'image': _moved('tf.raw_ops.ImageProjectiveTransformV3',
                    'rotate/transform: the projective-transform op (what '
                    'Keras\'s RandomRotation runs); sparse_image_warp, '
                    'dense_image_warp, connected_components went to '
                    'tensorflow-addons, and ' + ADDONS),
    'input_pipeline': _moved('tf.data.Dataset', 'queue-based input '
                             'helpers: build the pipeline with tf.data'),
    'integrate': _gone('odeint: TensorFlow Probability (tfp.math.ode); '
                       'not verified on TF 2.21 here'),
    'kafka': _gone('Kafka reader: ' + TF_IO),
    'keras': _keras('tf.keras', 'the old tf.keras: on the tf-keras route '
                    '(pip install tf-keras~=2.21.0, TF_USE_LEGACY_KERAS=1) '
                    'tf.keras is Keras 2 as TF1 had it'),
    'kernel_methods': _keras('tf.keras.layers.experimental.'
                             'RandomFourierFeatures',
                             'RandomFourierFeatureMapper -> '
                             'RandomFourierFeatures (a Keras layer)'),
    'kinesis': _gone('Kinesis reader: ' + TF_IO),
    'labeled_tensor': _gone('no labelled tensors in TF 2.21: name the axes '
                            'in comments, or index by position'),
    'layers': _moved('tf_slim', SLIM + 'conv2d, fully_connected, '
                     'arg_scope, l2_regularizer, xavier_initializer... are '
                     'tf_slim\'s; ' + SLIM_BN + '; embed_sequence, '
                     'feature columns: tf.compat.v1.feature_column',
                     route='tf_slim'),
    'learn': _gone('tf.contrib.learn (Experiment, learn_runner, '
                   'SKCompat, datasets) is gone: ' + ESTIMATOR_GONE +
                   '; the MNIST reader -> tf.keras.datasets.mnist.'
                   'load_data', 'route-estimator'),
    'legacy_seq2seq': _gone('built on RNN cells: rebuild the model with '
                            'tf.compat.v1.nn.rnn_cell and '
                            'tf.compat.v1.nn.dynamic_rnn on the tf-keras '
                            'route; sequence_loss is a masked '
                            'tf.nn.sparse_softmax_cross_entropy_with_'
                            'logits', 'route-seq2seq'),
    'libsvm': _gone('decode_libsvm: parse the text with tf.strings.split '
                    'and build a tf.sparse.SparseTensor'),
    'linear_optimizer': _gone('SDCA trained linear Estimators (gone with '
                              'TF 2.16): use a linear model with a TF1 '
                              'optimizer', 'route-estimator'),
    'lookup': _moved('tf.lookup', 'HashTable -> tf.lookup.StaticHashTable, '
                     'index_table_from_file -> tf.lookup.StaticHashTable('
                     'tf.lookup.TextFileInitializer(...))'),
    'losses': _moved('tf.compat.v1.losses', 'the same losses (TF1 '
                     'moved them to tf.losses); metric_learning is gone'),
    'memory_stats': _moved('tf.config.experimental.get_memory_info',
                           'MaxBytesInUse/BytesInUse -> '
                           'get_memory_info(device)["peak"/"current"] '
                           '(GPU)'),
    'meta_graph_transform': _gone('no MetaGraphDef transform: re-export '
                                  'the graph with tf.compat.v1.'
                                  'saved_model'),
    'metrics': _moved('tf_slim.metrics', SLIM + 'streaming_* are in '
                      'tf_slim.metrics; tf.compat.v1.metrics.X takes '
                      '(labels, predictions), streaming_X took '
                      '(predictions, labels)', route='tf_slim'),
    'mixed_precision': _moved('tf.compat.v1.mixed_precision',
                              'loss scaling: tf.compat.v1.mixed_precision '
                              '(graph rewrite, loss-scale optimizer)'),
    'model_pruning': _gone('moved to tensorflow-model-optimization '
                           '(Keras); not verified on TF 2.21 here'),
    'nearest_neighbor': _gone('hyperplane LSH ops: compute distances with '
                              'tf.matmul and tf.math.top_k'),
    'nn': _moved('tf.nn', 'sampled_sparse_softmax_loss -> '
                 'tf.nn.sampled_softmax_loss; alpha_dropout, '
                 'scaled_softplus, conv1d_transpose variants are gone'),
    'opt': _moved('tf.keras.optimizers.AdamW', 'AdamWOptimizer -> '
                  'tf.keras.optimizers.AdamW (a Keras optimizer: TF2 '
                  'loop, not a graph train_op); LazyAdam, '
                  'MovingAverageOptimizer, ScipyOptimizerInterface... are '
                  'gone (tensorflow-addons had some: ' + ADDONS + ')'),
    'optimizer_v2': _moved('tf.keras.optimizers', 'the v2 optimizers are '
                           'Keras\'s'),
    'periodic_resample': _gone('no replacement: reshape + tf.transpose'),
    'predictor': _moved('tf.saved_model.load', 'from_saved_model(d) -> '
                        'tf.saved_model.load(d).signatures'
                        '["serving_default"]'),
    'proto': _moved('tf.io.decode_proto', 'decode_proto/encode_proto are '
                    'tf.io\'s'),
    'quantization': _moved('tf.quantization', 'the fake-quant and '
                           'quantize ops are tf.quantization\'s'),
    'quantize': _gone('quantization-aware training graph rewrites: '
                      'tensorflow-model-optimization (Keras) or the TFLite '
                      'converter; not verified here'),
    'receptive_field': _gone('no receptive-field tool in TF 2.21: compute '
                             'it from the layer strides and kernels'),
    'recurrent': _gone('functional_rnn/Recurrent: '
                       'tf.compat.v1.nn.dynamic_rnn on the tf-keras route',
                       'route-tf-keras'),
    'reduce_slice_ops': _moved('tf.math.unsorted_segment_sum',
                               'reduce_slice_sum -> segment ids + '
                               'tf.math.unsorted_segment_sum (and _max, '
                               '_min, _prod)'),
    'remote_fused_graph': _gone('no replacement (a mobile-era graph '
                                'rewrite)'),
    'resampler': _gone('bilinear resampling went to tensorflow-addons, '
                       'and ' + ADDONS + ': gather the four neighbours '
                       'with tf.gather_nd and blend'),
    'rnn': _keras('tf.compat.v1.nn.rnn_cell', 'BasicLSTMCell, LSTMCell, '
                  'GRUCell, MultiRNNCell, DropoutWrapper, LSTMStateTuple '
                  'run on the tf-keras route (Keras 3 raises "not '
                  'available with Keras 3"); LSTMBlockCell, '
                  'LayerNormBasicLSTMCell, AttentionCellWrapper are gone'),
    'rpc': _gone('no RPC op in TF 2.21: call the service outside the '
                 'graph'),
    'saved_model': _moved('tf.saved_model', 'the SavedModel builder and '
                          'loader are tf.compat.v1.saved_model\'s'),
    'seq2seq': _gone('tf.contrib.seq2seq (attention, BeamSearchDecoder, '
                     'dynamic_decode, sequence_loss) went to '
                     'tensorflow-addons (tfa.seq2seq), and ' + ADDONS +
                     ': copy the needed parts of tfa.seq2seq (Apache 2.0) '
                     'into the project on the tf-keras route, or pin '
                     'TF<=2.15 with tensorflow-addons', 'route-seq2seq'),
    'session_bundle': _moved('tf.compat.v1.saved_model.load',
                             'session bundles are SavedModels\' '
                             'predecessor: re-export as a SavedModel'),
    'signal': _moved('tf.signal', 'stft, frame, mfccs... are tf.signal\'s'),
    'slim': _moved('tf_slim', SLIM + 'the same library (import tf_slim as '
                   'slim); ' + SLIM_BN + '; its variable names are '
                   'unchanged', route='tf_slim'),
    'solvers': _gone('least-squares/CG solvers: tf.linalg.lstsq, '
                     'tf.linalg.solve'),
    'sparsemax': _gone('went to tensorflow-addons, and ' + ADDONS +
                       ': sparsemax is a sort, a cumsum and a threshold '
                       'in plain TF ops'),
    'specs': _gone('no model-spec language: write the layers'),
    'staging': _moved('tf.data.experimental.prefetch_to_device',
                      'StagingArea overlapped host-to-device copies: '
                      'tf.data prefetch_to_device does it'),
    'stat_summarizer': _gone('graph statistics: tf.compat.v1.profiler'),
    'stateless': _moved('tf.random.stateless_uniform',
                        'stateless_random_uniform/normal -> '
                        'tf.random.stateless_uniform/normal'),
    'summary': _moved('tf.summary', 'contrib.summary was TF2\'s summary '
                      'API in the making: tf.summary.create_file_writer, '
                      'tf.summary.scalar(name, value, step)'),
    'tensor_forest': _gone('random-forest Estimators: TensorFlow Decision '
                           'Forests', 'route-estimator'),
    'tensorboard': _gone('the projector config is '
                         'tensorboard.plugins.projector (pip install '
                         'tensorboard)'),
    'tensorrt': _moved('tf.experimental.tensorrt',
                       'TrtGraphConverter -> '
                       'tf.experimental.tensorrt.Converter (needs a '
                       'TensorRT build)'),
    'testing': _moved('tf.test', 'test helpers: tf.test'),
    'text': _gone('skip_gram_sample: tensorflow-text or '
                  'tf.keras.preprocessing (not verified here)'),
    'tfprof': _moved('tf.compat.v1.profiler', 'model_analyzer -> '
                     'tf.compat.v1.profiler.profile'),
    'timeseries': _gone('the time-series Estimators went with Estimator '
                        '(TF 2.16)', 'route-estimator'),
    'tpu': _moved('tf.compat.v1.tpu', 'rewrite, shard, '
                  'initialize_system are tf.compat.v1.tpu\'s; TPUEstimator '
                  'went with Estimator: ' + ESTIMATOR_GONE +
                  '; new code: tf.distribute.TPUStrategy',
                  'route-estimator'),
    'training': _moved('tf.compat.v1.train', 'bucket_by_sequence_length '
                       '-> tf.data.experimental.bucket_by_sequence_length; '
                       'HParams is gone (a dict or absl flags); '
                       'SequenceQueueingStateSaver is gone'),
    'util': _moved('tf.make_tensor_proto', 'make_tensor_proto, '
                   'make_ndarray are tf\'s; constant_value -> '
                   'tf.get_static_value'),
}

# Modules TF1 code uses that 1.15.5 no longer has under tensorflow/contrib/;
# listed so that a lookup does not fall back to tf.contrib's generic line.
CONTRIB_BEFORE_1_15 = {
    'nccl': _moved('tf.distribute.NcclAllReduce', 'tf.contrib.nccl '
                   '(removed before 1.15): all_sum across GPUs is '
                   'tf.distribute.MirroredStrategy with cross_device_ops='
                   'tf.distribute.NcclAllReduce()', 'route-multi-gpu'),
}

CONTRIB_ROOT = _gone('tf.contrib is not in TF 2.x: see the verdict of the '
                     'module used (tf.contrib.X)')

TF_OVERRIDES = {
    'tf.estimator': _gone(ESTIMATOR_GONE, 'route-estimator'),
    'tf.keras': _keras('tf.keras', 'tf.keras on TF 2.21 is Keras 3 (other '
                       'defaults, no tf.compat.v1.layers); TF1\'s Keras, '
                       'graph mode and variable names: pip install '
                       'tf-keras~=2.21.0 and TF_USE_LEGACY_KERAS=1'),
}


# tf.* names of 1.15 that TF 2.21 has in no form (tf.compat.v1 included,
# on both routes): where the feature went, or what to do instead.
_STATS = _gone('tf.data statistics were removed: profile the input '
               'pipeline with tf.profiler.experimental (TensorBoard\'s '
               'profiler)')
_MICROFRONTEND = _gone('the TFLite audio microfrontend op is not in TF '
                       '2.21: compute the features with tf.signal.stft and '
                       'tf.signal.linear_to_mel_weight_matrix')
_TFLITE_RNN = _gone('TFLite\'s experimental RNN cells are gone: Keras '
                    'LSTM/GRU layers convert to fused TFLite ops')
TF_GONE = {
    'tf.config.experimental_list_devices': _moved(
        'tf.config.list_logical_devices', 'returns LogicalDevice '
        'objects: [device.name for device in '
        'tf.config.list_logical_devices()]', 'api-verdicts'),
    'tf.data.experimental.CheckpointInputPipelineHook': _gone(
        'an Estimator hook (Estimator is gone): save the iterator in a '
        'tf.train.Checkpoint(iterator=...)', 'route-estimator'),
    'tf.data.experimental.MapVectorizationOptions': _gone(
        'map vectorization was removed from tf.data: drop the option'),
    'tf.data.experimental.StatsAggregator': _STATS,
    'tf.data.experimental.StatsOptions': _STATS,
    'tf.data.experimental.bytes_produced_stats': _STATS,
    'tf.data.experimental.latency_stats': _STATS,
    'tf.lite.experimental.get_potentially_supported_ops': _gone(
        'convert with tf.lite.TFLiteConverter: it names the unsupported '
        'ops'),
    'tf.lite.experimental.microfrontend': _MICROFRONTEND,
    'tf.lite.experimental.microfrontend.python': _MICROFRONTEND,
    'tf.lite.experimental.microfrontend.python.ops': _MICROFRONTEND,
    'tf.lite.experimental.nn': _TFLITE_RNN,
    'tf.lite.experimental.nn.TFLiteLSTMCell': _TFLITE_RNN,
    'tf.lite.experimental.nn.TfLiteRNNCell': _TFLITE_RNN,
    'tf.lite.experimental.nn.dynamic_rnn': _TFLITE_RNN,
    'tf.pywrap_tensorflow': _gone(
        'private C++ bindings: use the public API '
        '(pywrap_tensorflow.NewCheckpointReader -> '
        'tf.train.load_checkpoint)'),
    'tf.tpu.experimental.AdagradParameters': _moved(
        'tf.tpu.experimental.embedding.Adagrad', 'the TPU embedding '
        'optimizers are tf.tpu.experimental.embedding\'s (other '
        'constructor)', 'route-estimator'),
    'tf.tpu.experimental.AdamParameters': _moved(
        'tf.tpu.experimental.embedding.Adam', 'the TPU embedding '
        'optimizers are tf.tpu.experimental.embedding\'s (other '
        'constructor)', 'route-estimator'),
    'tf.tpu.experimental.StochasticGradientDescentParameters': _moved(
        'tf.tpu.experimental.embedding.SGD', 'the TPU embedding '
        'optimizers are tf.tpu.experimental.embedding\'s (other '
        'constructor)', 'route-estimator'),
}


def route_names():
    """{route: replacements to resolve on it} of the hand-written
    verdicts."""
    found = {'tf_keras': set(), '': set()}
    every = list(CONTRIB.values()) + list(CONTRIB_BEFORE_1_15.values()) + \
        list(TF_OVERRIDES.values()) + list(TF_GONE.values())
    for item in every:
        if item['replacement']:
            found['tf_keras' if item['route'] == 'tf_keras' else ''].add(
                item['replacement'])
    return found
