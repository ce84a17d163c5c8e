from __future__ import annotations

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import NotFound
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from apps.lineage.selectors import DIRECTIONS, LEVELS, lineage_graph

MAX_ID = 2**31 - 1


class LineageQuerySerializer(serializers.Serializer):
    node = serializers.RegexField(
        r"^[a-z_]+:\d{1,10}$", max_length=40, help_text=f"TYPE:ID, TYPE one of {', '.join(LEVELS)}"
    )
    direction = serializers.ChoiceField(choices=DIRECTIONS, default="both")

    def validate_node(self, value: str) -> tuple[str, int]:
        kind, _, pk = value.partition(":")
        if kind not in LEVELS:
            raise serializers.ValidationError(
                f"Unknown node type '{kind}'; use {', '.join(LEVELS)}."
            )
        if not 1 <= int(pk) <= MAX_ID:
            raise serializers.ValidationError("The id is out of range.")
        return kind, int(pk)


class NodeSerializer(serializers.Serializer):
    id = serializers.CharField(help_text="TYPE:ID")
    type = serializers.ChoiceField(choices=LEVELS)
    label = serializers.CharField()
    status = serializers.CharField()
    url = serializers.CharField(help_text="The node's page")


class EdgeSerializer(serializers.Serializer):
    source = serializers.CharField()
    target = serializers.CharField()
    relation = serializers.CharField(
        help_text="trained, trained_on, produced, stable, candidate, revision_of"
    )


class GraphSerializer(serializers.Serializer):
    nodes = NodeSerializer(many=True)
    edges = EdgeSerializer(many=True)


class LineageView(APIView):
    """The lineage graph around one node: upstream (where it came from), downstream (what
    depends on it) or both; only what the caller may see. Edges point the way data flows."""

    @extend_schema(
        parameters=[
            OpenApiParameter("node", str, required=True, description="TYPE:ID, e.g. deployment:3"),
            OpenApiParameter("direction", str, enum=list(DIRECTIONS), description="default both"),
        ],
        responses=GraphSerializer,
    )
    def get(self, request: Request) -> Response:
        query = LineageQuerySerializer(data=request.query_params)
        query.is_valid(raise_exception=True)
        kind, pk = query.validated_data["node"]
        graph = lineage_graph(
            user=request.user, kind=kind, pk=pk, direction=query.validated_data["direction"]
        )
        if graph is None:
            raise NotFound(f"No {kind} {pk}.")
        return Response(GraphSerializer(graph).data)
