# switchyard: one binary and four scripts at the paths of the container contract.

FROM rust:1-bookworm AS builder
WORKDIR /src
# Everything .dockerignore lets through: Cargo files, src/, grammar/ …
COPY . .
RUN cargo build --release --locked && strip target/release/switchyard

FROM debian:bookworm-slim
COPY --from=builder /src/target/release/switchyard /usr/local/bin/switchyard
COPY opt/section/validate.sh opt/section/update.sh opt/section/logrotate.sh opt/section/messagehandler.sh /opt/section/
RUN chmod 0755 /opt/section/*.sh /usr/local/bin/switchyard \
    && mkdir -p /opt/proxy_config /var/log/switchyard /run/switchyard
EXPOSE 80
ENTRYPOINT ["/usr/local/bin/switchyard", "serve"]
