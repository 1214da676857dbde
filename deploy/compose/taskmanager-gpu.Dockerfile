# Flink 2.2 on CUDA 12 + cuDNN 9: what onnxruntime_gpu 1.29.0 (the -Pgpu build of the job jar) loads
# (libcublasLt.so.12, libcudnn.so.9, ...). The same image serves the JobManager, which needs no GPU.
# Host: an NVIDIA driver that supports CUDA 12.x and the NVIDIA Container Toolkit.
FROM flink:2.2.1-java17 AS flink

FROM nvidia/cuda:12.6.3-cudnn-runtime-ubuntu22.04
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends openjdk-17-jre-headless gosu curl \
 && rm -rf /var/lib/apt/lists/* \
 && groupadd --system --gid 9999 flink \
 && useradd --system --home-dir /opt/flink --uid 9999 --gid flink flink
ENV JAVA_HOME=/usr/lib/jvm/java-17-openjdk-amd64 \
    FLINK_HOME=/opt/flink \
    PATH=/opt/flink/bin:$PATH
COPY --from=flink --chown=flink:flink /opt/flink /opt/flink
COPY --from=flink /docker-entrypoint.sh /docker-entrypoint.sh
WORKDIR /opt/flink
EXPOSE 6123 8081 9249 9250
ENTRYPOINT ["/docker-entrypoint.sh"]
CMD ["help"]
