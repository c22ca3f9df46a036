# syntax=docker/dockerfile:1
# Build stage: the .NET SDK restores and publishes the daemon from exactly what the COPY lines bring in: the build
# settings and package versions all projects share, its project, the migrations (db/migrations, shipped beside the
# binary) and the browser clock module it embeds. CI publishes from a context holding only these
# (.ci/image-context.sh), so a missing COPY fails there, without a container engine.
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY Directory.Build.props Directory.Packages.props ./
COPY src/RoomReconciler/RoomReconciler.csproj src/RoomReconciler/
# ReadyToRun needs the crossgen pack, which restore fetches only when told (its -r sets RuntimeIdentifiers, not RuntimeIdentifier).
RUN dotnet restore src/RoomReconciler/RoomReconciler.csproj -r linux-x64 -p:PublishReadyToRun=true
COPY db/migrations/ db/migrations/
COPY src/clock-client/session-clock.js src/clock-client/
COPY src/RoomReconciler/ src/RoomReconciler/
RUN dotnet publish src/RoomReconciler/RoomReconciler.csproj -c Release -r linux-x64 --self-contained false -o /app --no-restore

# Runtime stage: ASP.NET Core runtime only, no secrets (they come from the environment).
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
ENV Urls=http://0.0.0.0:8080 \
    Log__Format=json \
    DOTNET_gcServer=0
EXPOSE 8080
# The numeric id of the image's non-root user: kubelet verifies runAsNonRoot only against a number, never a name.
USER $APP_UID
# No HEALTHCHECK: the image has no shell or curl, and needs none. Kubernetes probes /healthz and /readyz over HTTP
# (deploy/kubernetes); Compose can do the same from its side.
ENTRYPOINT ["dotnet", "RoomReconciler.dll"]
CMD ["run"]
