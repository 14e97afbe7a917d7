# landwatch on Debian 12 with Debian's GDAL. The build runs the README's commands (section "Kubernetes"): make
# installs GDAL, XGBoost and libtiff from Debian and builds the release binary; the runtime image carries Debian's
# libraries and the Swift runtime the binary links.
FROM swift:6.1-bookworm AS build
WORKDIR /src
COPY . .
RUN apt-get update && apt-get install -y make
RUN make build
RUN install -m 755 .build/release/landwatch /usr/local/bin/landwatch

FROM debian:bookworm-slim
RUN apt-get update && apt-get install -y --no-install-recommends gdal-bin libgdal32 libxgboost0 libtiff6 libqrencode4 libfreetype6 fonts-noto-cjk ca-certificates && rm -rf /var/lib/apt/lists/*
COPY --from=build /usr/lib/swift/linux/*.so /usr/lib/swift/linux/
COPY --from=build /usr/local/bin/landwatch /usr/local/bin/landwatch
RUN echo /usr/lib/swift/linux > /etc/ld.so.conf.d/swift.conf && ldconfig && landwatch --version
USER 10001
ENTRYPOINT ["/usr/local/bin/landwatch"]
