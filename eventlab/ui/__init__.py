"""Shared Streamlit widgets and session plumbing (the only package code importing streamlit)."""
