"""The MLflow models-from-code file: MLflow copies it into the logged model and runs it to load.

Logging from code means nothing of ours is cloudpickled; the served process imports
arnews_ml.tracking.pyfunc and loads the bundle from the model's artifacts.
"""

from mlflow.models import set_model

from arnews_ml.tracking.pyfunc import ArnewsPyfuncModel

set_model(ArnewsPyfuncModel())
