# The image of flink-deployment.yaml: the CUDA 12 + cuDNN 9 Flink image with the E3 job jar (-Pgpu build) in usrlib.
#   ./mvnw -Pgpu -pl pipeline -am package -DskipTests
#   docker build -f deploy/compose/taskmanager-gpu.Dockerfile -t e3stream/flink-taskmanager-gpu:2.2.1 deploy/compose
#   docker build -f deploy/k8s/job-image.Dockerfile -t registry.example.com/e3stream/flink-e3stream-gpu:0.1.0 .
FROM e3stream/flink-taskmanager-gpu:2.2.1
COPY --chown=flink:flink pipeline/target/e3stream-pipeline-*-cluster.jar /opt/flink/usrlib/e3stream-pipeline-cluster.jar
