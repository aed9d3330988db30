# Windows equivalent of `make run` / `make test`:
#   powershell -ExecutionPolicy Bypass -File scripts\dev.ps1 run
#   powershell -ExecutionPolicy Bypass -File scripts\dev.ps1 test
# PyPI's torch wheels for Windows are the CPU build, so no extra index is needed.
param([ValidateSet("setup", "run", "test")][string]$Task = "run")
$ErrorActionPreference = "Stop"
Set-Location (Split-Path -Parent $PSScriptRoot)
$py = ".venv\Scripts\python.exe"
if (-not (Test-Path ".venv\.installed")) {
    py -3.11 -m venv .venv
    & $py -m pip install --quiet --upgrade pip
    & $py -m pip install --quiet -c constraints.txt torch==2.13.0
    & $py -m pip install --quiet -c constraints.txt -e ".[test]"
    New-Item -ItemType File ".venv\.installed" | Out-Null
}
if ($Task -eq "run") { & ".venv\Scripts\faceattend.exe" }
if ($Task -eq "test") { $env:QT_QPA_PLATFORM = "offscreen"; & $py -m pytest -q; exit $LASTEXITCODE }
