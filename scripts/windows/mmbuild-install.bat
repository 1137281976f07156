@echo off
rem Build and install mmcv with ops from a plain cmd window:
rem   scripts\windows\mmbuild-install.bat --mmcv 2.1.0
rem Runs setup_msvc.ps1 (Visual Studio x64 environment, CUDA_HOME, then
rem "python -m mmbuild install" with these arguments) and returns its exit code.
setlocal
where powershell >nul 2>&1
if errorlevel 1 (
    echo mmbuild setup: error: Windows PowerShell was not found on PATH.
    exit /b 2
)
powershell -NoProfile -ExecutionPolicy Bypass -File "%~dp0setup_msvc.ps1" %*
exit /b %ERRORLEVEL%
