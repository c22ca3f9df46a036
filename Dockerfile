# syntax=docker/dockerfile:1
# Build stage: the .NET SDK restores and publishes the daemon (migrations included, in db/migrations).
FROM mcr.microsoft.com/dotnet/sdk:10.0 AS build
WORKDIR /src
COPY RoomReconciler.sln ./
COPY src/RoomReconciler/RoomReconciler.csproj src/RoomReconciler/
RUN dotnet restore src/RoomReconciler/RoomReconciler.csproj -r linux-x64
COPY db/ db/
COPY src/RoomReconciler/ src/RoomReconciler/
RUN dotnet publish src/RoomReconciler/RoomReconciler.csproj -c Release -r linux-x64 --self-contained false -o /app --no-restore

# Runtime stage: ASP.NET Core runtime only, a non-root user, no secrets (they come from the environment).
FROM mcr.microsoft.com/dotnet/aspnet:10.0 AS runtime
WORKDIR /app
COPY --from=build /app ./
ENV Urls=http://0.0.0.0:8080 \
    Log__Format=json \
    DOTNET_gcServer=0
EXPOSE 8080
USER app
ENTRYPOINT ["dotnet", "RoomReconciler.dll"]
CMD ["run"]
